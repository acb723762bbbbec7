#!/usr/bin/env bash
# Starts the services the tests use on this machine: CUPS with the cups-pdf virtual printer
# (queue "PDF"), writing to /var/spool/cups-pdf/ANONYMOUS. Needs root. Safe to run twice.
set -euo pipefail
if ! lpstat -r >/dev/null 2>&1 || ! lpstat -r | grep -q 'is running'; then
  mkdir -p /run/cups
  (cupsd || /usr/sbin/cupsd) >/dev/null 2>&1
  for _ in $(seq 1 50); do lpstat -r 2>/dev/null | grep -q 'is running' && break; sleep 0.2; done
fi
if ! lpstat -p PDF >/dev/null 2>&1; then
  lpadmin -p PDF -E -v cups-pdf:/ -m lsb/usr/cups-pdf/CUPS-PDF_opt.ppd 2>/dev/null ||
    lpadmin -p PDF -E -v cups-pdf:/ -P /usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd
fi
cupsenable PDF
cupsaccept PDF
# cups-pdf writes anonymous jobs here; tests read their output from it.
sed -i 's|^#\?Out .*|Out /var/spool/cups-pdf/${USER}|' /etc/cups/cups-pdf.conf
sed -i 's|^#\?AnonDirName .*|AnonDirName /var/spool/cups-pdf/ANONYMOUS|' /etc/cups/cups-pdf.conf
mkdir -p /var/spool/cups-pdf/ANONYMOUS && chmod 1777 /var/spool/cups-pdf/ANONYMOUS
lpstat -p PDF
