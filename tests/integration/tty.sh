#!/usr/bin/env bash
# On a terminal, the guest's terminal ioctls go through the donated fd: TCGETS/TCSETS (stty -g,
# stty -echo) and TIOCGWINSZ/TIOCSWINSZ (stty rows/cols/size) behave as they do natively.
# script(1) gives each run its own pseudo-terminal.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
# What one command prints on a fresh terminal, with carriage returns dropped.
on_tty() {
    script -qec "$1" /dev/null </dev/null | tr -d '\r'
}

steps="$BUSYBOX stty rows 33 cols 101; $BUSYBOX stty size; $BUSYBOX stty -echo; $BUSYBOX stty -g"
native=$(on_tty "$steps")
sandboxed=$(on_tty "${steps//$BUSYBOX/$RUNSC do $BUSYBOX}")
check "terminal settings and window size as natively" test "$native" = "$sandboxed"
check "the window size was set and read back" test "$(head -n 1 <<<"$sandboxed")" = "33 101"
check "stty -g printed the settings" test "$(wc -l <<<"$sandboxed")" -eq 2
