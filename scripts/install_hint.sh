#!/bin/sh
# SPDX-License-Identifier: MIT
#
# scripts/install_hint.sh DESTDIR LIBDIR - the last words of `make install`:
# tell the user when a program linked with -lweft will not find libweft.so.0
# at run time, and what to do.
#
#  - LIBDIR is not a folder the dynamic loader searches (ldconfig's list:
#    /etc/ld.so.conf and the built-in folders): say so, with the choices
#    (LD_LIBRARY_PATH, -Wl,-rpath, libweft.a, or ld.so.conf.d + ldconfig);
#  - LIBDIR is searched, but the loader's cache does not list libweft.so.0
#    there yet (a real install, not a DESTDIR staging): say "run ldconfig".
# Silent otherwise.
set -u
destdir=$1
libdir=$2
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
[ -x "$ldconfig" ] || exit 0
dirs=$("$ldconfig" -vNX 2>/dev/null | sed -n 's/^\([^[:space:]][^:]*\):.*/\1/p')
canon() { realpath -m "$1" 2>/dev/null || echo "$1"; }
want=$(canon "$libdir")
searched=no
for d in $dirs /lib /usr/lib /lib64 /usr/lib64; do
	[ "$(canon "$d")" = "$want" ] && searched=yes
done
staged=""
[ -n "$destdir" ] && staged=" (staged under DESTDIR=$destdir)"
if [ "$searched" = no ]; then
	cat <<MSG

make install: libweft.so is in $libdir$staged,
a folder the dynamic loader does not search, so a program linked with -lweft
will fail with "cannot open shared object file: libweft.so.0".  Either:
  - run it with  LD_LIBRARY_PATH=$libdir
  - link it with -Wl,-rpath,$libdir  (or link $libdir/libweft.a instead)
  - or, as root:  echo $libdir > /etc/ld.so.conf.d/weft.conf && ldconfig
MSG
elif [ -z "$destdir" ] && ! "$ldconfig" -p 2>/dev/null | grep -q "libweft.so.0 .*=> $libdir/libweft.so.0\$"; then
	cat <<MSG

make install: run ldconfig (as root) so that the dynamic loader's cache lists
$libdir/libweft.so.0; until then a program linked with -lweft may fail to
start with "cannot open shared object file: libweft.so.0".
MSG
fi
exit 0
