# The CMake package (issue 17).
#
# `make install` also installs what CMake users need, filled from the same
# templates CMakeLists.txt uses, so both installs lay out the same tree:
#   $(LIBDIR)/cmake/weft/weftConfig.cmake, weftConfigVersion.cmake
#       (find_package(weft CONFIG REQUIRED): weft::weft, weft::weft_static,
#        weft::weft_shared, weft::weft_header_only)
#   $(INCLUDEDIR)/weft/single/weft.h        the single header (weft::weft_header_only)
# `make uninstall` removes them.
#
#   make check-cmake   CMakeLists.txt builds and installs the library; its
#                      install must hold the same files as `make install`'s
#                      (and the same text in each text file); then a consumer
#                      (tests/cmake/consumer/) is built with find_package()
#                      against the `make install` tree, with add_subdirectory()
#                      of this source tree and with FetchContent, and run.

CMAKE ?= cmake
WEFT_CMAKE_DIR = $(DESTDIR)$(LIBDIR)/cmake/weft
# The config finds the libraries and headers relative to its own folder.
weft_cfg_rel = $(shell realpath -m --relative-to=$(LIBDIR)/cmake/weft $(1))
weft_sizeof_ptr = $(shell printf '__SIZEOF_POINTER__\n' | $(CC) -E -P - 2>/dev/null | tail -n 1)
WEFT_CMAKE_SED = -e 's|@WEFT_VERSION@|$(VERSION)|g' -e 's|@WEFT_SOVERSION@|$(SOVERSION)|g' \
	-e 's|@WEFT_VERSION_MAJOR@|$(word 1,$(subst ., ,$(VERSION)))|g' \
	-e 's|@WEFT_VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|g' \
	-e 's|@WEFT_SIZEOF_VOID_P@|$(weft_sizeof_ptr)|g' \
	-e 's|@WEFT_CONFIG_TO_LIBDIR@|$(call weft_cfg_rel,$(LIBDIR))|g' \
	-e 's|@WEFT_CONFIG_TO_INCLUDEDIR@|$(call weft_cfg_rel,$(INCLUDEDIR))|g'

.PHONY: install-cmake uninstall-cmake check-cmake

install: install-cmake
uninstall: uninstall-cmake

install-cmake:
	install -d $(WEFT_CMAKE_DIR) $(DESTDIR)$(INCLUDEDIR)/weft/single
	sed $(WEFT_CMAKE_SED) cmake/weftConfig.cmake.in > $(WEFT_CMAKE_DIR)/weftConfig.cmake
	sed $(WEFT_CMAKE_SED) cmake/weftConfigVersion.cmake.in > $(WEFT_CMAKE_DIR)/weftConfigVersion.cmake
	chmod 644 $(WEFT_CMAKE_DIR)/weftConfig.cmake $(WEFT_CMAKE_DIR)/weftConfigVersion.cmake
	install -m 644 dist/weft.h $(DESTDIR)$(INCLUDEDIR)/weft/single/weft.h

uninstall-cmake:
	rm -f $(WEFT_CMAKE_DIR)/weftConfig.cmake $(WEFT_CMAKE_DIR)/weftConfigVersion.cmake \
	      $(DESTDIR)$(INCLUDEDIR)/weft/single/weft.h
	rmdir $(WEFT_CMAKE_DIR) $(DESTDIR)$(LIBDIR)/cmake $(DESTDIR)$(INCLUDEDIR)/weft/single 2>/dev/null || true

check-cmake: all
	$(Q)scripts/deps.sh --check-or-install
	$(Q)CMAKE="$(CMAKE)" CC="$(CC)" CXX="$(CXX)" tests/cmake/run.sh $(BUILD)/cmake

CHECK_STEPS += check-cmake
HELP_LINES  += "make check-cmake  CMakeLists.txt builds/installs what make install does; a consumer via find_package(), add_subdirectory(), FetchContent"
