#!/usr/bin/env bash
# make check-install: install into a temporary DESTDIR, then build and run a
# small program found only through `pkg-config weft`, linked statically and
# dynamically.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory install DESTDIR="$tmp/root" PREFIX=/usr/local >/dev/null
export PKG_CONFIG_PATH="$tmp/root/usr/local/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags weft)
libs=$(pkg-config --libs weft)
cat > "$tmp/consumer.c" <<'C'
#include <stdio.h>
#include <weft/weft.h>
int main(void)
{
	weft_mutex_t m;
	if (weft_mutex_init(&m, WEFT_PSHARED) != WEFT_OK)
		return 1;
	weft_mutex_lock(&m);
	struct timespec past = {0, 0};
	int rc = weft_mutex_timedlock(&m, &past);
	weft_mutex_unlock(&m);
	weft_mutex_destroy(&m);
	printf("weft %s: timedlock on a held mutex: %s\n", WEFT_VERSION_STRING, weft_strerror(rc));
	return rc == WEFT_ETIMEDOUT ? 0 : 1;
}
C
cc -std=c11 -Wall -Werror $cflags "$tmp/consumer.c" -o "$tmp/consumer-dynamic" $libs
LD_LIBRARY_PATH="$tmp/root/usr/local/lib" "$tmp/consumer-dynamic"
cc -std=c11 -Wall -Werror $cflags "$tmp/consumer.c" -o "$tmp/consumer-static" \
	"$tmp/root/usr/local/lib/libweft.a" -pthread
"$tmp/consumer-static"
make --no-print-directory uninstall DESTDIR="$tmp/root" PREFIX=/usr/local >/dev/null
# nothing left: no file, no link, no folder of weft's own
left=$(find "$tmp/root" \( -type f -o -type l -o -name '*weft*' \) -print | tee "$tmp/left" | wc -l)
[ "$left" -eq 0 ] || { echo "check-install: uninstall left $left entries:" >&2; cat "$tmp/left" >&2; exit 1; }
# outside the loader's path, install says how to run the programs
make --no-print-directory install DESTDIR="$tmp/opt" PREFIX=/opt/hint-check >"$tmp/opt.log"
grep -q "LD_LIBRARY_PATH=/opt/hint-check/lib" "$tmp/opt.log" ||
	{ echo "check-install: no LD_LIBRARY_PATH/ldconfig hint for a PREFIX outside the loader's path" >&2; exit 1; }
make --no-print-directory uninstall DESTDIR="$tmp/opt" PREFIX=/opt/hint-check >/dev/null
left=$(find "$tmp/opt" \( -type f -o -type l -o -name '*weft*' \) -print | wc -l)
[ "$left" -eq 0 ] || { echo "check-install: uninstall from /opt/hint-check left $left entries" >&2; exit 1; }
echo "check-install: installed, found by pkg-config, linked (static and shared), ran, uninstalled without a trace; the loader hint shown outside its path"
