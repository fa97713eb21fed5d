# Manual pages (issue 17): one page per public function, section 3, made by
# man/mkman.py from the kernel-doc comments of include/weft/*.h.
#
#   make man         $(BUILD)/man/man3/weft_*.3
#   make check-man   every public function has a page, and groff -man -ww
#                    renders each without a warning
#
# `make install` puts the pages in $(MANDIR)/man3 (MANDIR = $(PREFIX)/share/man);
# `make uninstall` removes them.

MANDIR    ?= $(PREFIX)/share/man
MAN_BUILD := $(BUILD)/man/man3
MAN_STAMP := $(BUILD)/man/.stamp

.PHONY: man check-man install-man uninstall-man

$(MAN_STAMP): $(HEADERS) man/mkman.py
	$(Q)rm -rf $(MAN_BUILD) && mkdir -p $(MAN_BUILD)
	$(Q)python3 man/mkman.py -o $(MAN_BUILD) $(HEADERS)
	@touch $@

man: $(MAN_STAMP)

install: install-man
uninstall: uninstall-man

# The library needs only a C compiler: without python3, install skips the pages.
ifneq ($(shell command -v python3 2>/dev/null),)
install-man: $(MAN_STAMP)
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN_BUILD)/*.3 $(DESTDIR)$(MANDIR)/man3/
else
install-man:
	@echo "make install: no python3, so no manual pages (man/mkman.py makes them)"
endif

uninstall-man:
	rm -f $(DESTDIR)$(MANDIR)/man3/weft_*.3
	rmdir $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR) 2>/dev/null || true

check-man:
	$(Q)rm -rf $(BUILD)/man-check && mkdir -p $(BUILD)/man-check
	$(Q)python3 man/mkman.py --check -o $(BUILD)/man-check $(HEADERS)
	$(Q)bad=0; for p in $(BUILD)/man-check/*.3; do \
		out=$$(groff -man -ww -z "$$p" 2>&1); \
		if [ -n "$$out" ]; then echo "check-man: $$p: $$out"; bad=$$((bad + 1)); fi; \
	done; \
	n=$$(ls $(BUILD)/man-check/*.3 | wc -l); \
	echo "check-man: $$n pages, $$bad with groff warnings"; [ $$bad -eq 0 ]

CHECK_STEPS += check-man
HELP_LINES  += "make check-man  a manual page for every public function (man/mkman.py), groff-clean"
