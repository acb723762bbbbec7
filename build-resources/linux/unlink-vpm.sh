#!/bin/sh
# deb prerm / rpm %preun: takes `vpm` off the PATH when the package is removed (not on upgrade:
# deb passes "upgrade", rpm a count of 1).
case "$1" in
  remove | purge | 0) rm -f /usr/bin/vpm ;;
esac
exit 0
