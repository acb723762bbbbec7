#!/bin/sh
# deb postinst / rpm %post: puts `vpm` on the PATH.
ln -sf /usr/lib/virtual-postage-meter/resources/vpm /usr/bin/vpm
