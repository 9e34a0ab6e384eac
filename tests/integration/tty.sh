#!/usr/bin/env bash
# On a terminal, the guest gets a pty of the sentry's (bridged to the host terminal, which runsc
# keeps raw meanwhile): TCGETS/TCSETS (stty -g, stty -echo) and TIOCGWINSZ/TIOCSWINSZ (stty rows/
# cols/size) behave on it as they do natively on a terminal. The pty is the sandbox's own, as a
# container's is: it starts with Linux's settings and the host terminal's size, and what the
# guest changes stays in it; the host terminal comes back as it was. script(1) gives each run its
# own pseudo-terminal.
# shellcheck source=tests/integration/lib.sh
source "$(dirname -- "$0")/lib.sh"

BUSYBOX=/bin/busybox
# What one command prints on a fresh terminal, with carriage returns dropped. script(1)'s input
# stays open until the command is done: at its end, script would type an end-of-file character
# at the terminal, which a raw terminal (runsc's, meanwhile) passes on as a byte to echo.
on_tty() {
    local in holder
    exec {in}< <(exec sleep 60)
    holder=$!
    script -qec "$1" /dev/null <&"$in" | tr -d '\r'
    kill "$holder"
    exec {in}<&-
}

steps="$BUSYBOX stty rows 33 cols 101; $BUSYBOX stty size; $BUSYBOX stty -echo; $BUSYBOX stty -g"
native=$(on_tty "$BUSYBOX sh -c '$steps'")
sandboxed=$(on_tty "$RUNSC do $BUSYBOX sh -c '$steps'")
check "terminal settings and window size as natively" test "$native" = "$sandboxed"
check "the window size was set and read back" test "$(head -n 1 <<<"$sandboxed")" = "33 101"
check "stty -g printed the settings" test "$(wc -l <<<"$sandboxed")" -eq 2

# A fresh terminal's settings are Linux's defaults, natively and in the sandbox.
check "a fresh terminal's settings as natively" \
    test "$(on_tty "$BUSYBOX stty -g")" = "$(on_tty "$RUNSC do $BUSYBOX stty -g")"

# The guest's pty starts with the host terminal's size; the guest's changes don't reach the host
# terminal, whose settings are as before once runsc is done.
out=$(on_tty "$BUSYBOX stty rows 40 cols 90; $BUSYBOX stty -g; \
    $RUNSC do $BUSYBOX sh -c '$BUSYBOX stty size; $BUSYBOX stty -echo rows 7; $BUSYBOX stty -g'; \
    $BUSYBOX stty -g; $BUSYBOX stty size")
mapfile -t lines <<<"$out"
if [[ ${#lines[@]} -eq 5 && ${lines[1]} == "40 90" && ${lines[0]} == "${lines[3]}" &&
    ${lines[2]} != "${lines[0]}" && ${lines[4]} == "40 90" ]]; then
    pass "the pty takes the host's size; the host terminal comes back unchanged"
else
    fail "the pty takes the host's size; the host terminal comes back unchanged" \
        "host -g, 40 90, guest -g (-echo), host -g as before, 40 90" "$out"
fi
