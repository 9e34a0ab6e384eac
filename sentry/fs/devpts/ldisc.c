/* The line discipline of a pty (Linux's N_TTY): input modes, ISIG characters, canonical line
 * editing, echo and output processing, as termios(3) describes them. Every function here runs
 * with the pty's lock held and never blocks. */
#include <signal.h>
#include <string.h>
#include <termios.h>

#include "sentry/fs/devpts/devpts_internal.h"
#include "sentry/kernel/kernel.h"

/* Linux's INIT_C_CC: ^C ^\ DEL ^U ^D, TIME 0, MIN 1, ^Q ^S ^Z, REPRINT ^R, DISCARD ^O,
 * WERASE ^W, LNEXT ^V. */
static const uint8_t default_cc[PTY_NCCS] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0};

enum erase_kind { ERASE_CHAR, ERASE_WORD, ERASE_LINE };

void ldisc_init_termios(struct ktermios *t)
{
    /* The pts driver's init_termios: tty_std_termios with c_cflag B38400 | CS8 | CREAD. */
    memset(t, 0, sizeof(*t));
    t->c_iflag = ICRNL | IXON;
    t->c_oflag = OPOST | ONLCR;
    t->c_cflag = B38400 | CS8 | CREAD;
    t->c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    memcpy(t->c_cc, default_cc, sizeof(default_cc));
    t->c_ispeed = t->c_ospeed = 38400;
}

static bool is_cntrl(unsigned char c)
{
    return c < 32 || c == 127;
}

static bool is_word_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Whether c is the (enabled) special character at index i of c_cc. */
static bool is_special(const struct pty *p, unsigned char c, int i)
{
    return c != _POSIX_VDISABLE && c == p->termios.c_cc[i];
}

static size_t out_room(const struct pty *p)
{
    return PTY_OUT_CAP - p->out_len;
}

static void out_put(struct pty *p, unsigned char c)
{
    p->out[(p->out_head + p->out_len) % PTY_OUT_CAP] = c;
    p->out_len++;
}

/* One byte through output processing (do_output_char); false without room for its result. */
static bool output_char(struct pty *p, unsigned char c)
{
    uint32_t o = p->termios.c_oflag;

    if (!(o & OPOST)) {
        if (!out_room(p))
            return false;
        out_put(p, c);
        return true;
    }
    switch (c) {
    case '\n':
        if (o & ONLRET)
            p->column = 0;
        if (o & ONLCR) {
            if (out_room(p) < 2)
                return false;
            p->column = 0;
            out_put(p, '\r');
            out_put(p, '\n');
            return true;
        }
        break;
    case '\r':
        if ((o & ONOCR) && p->column == 0)
            return true;
        if (o & OCRNL) {
            c = '\n';
            if (o & ONLRET)
                p->column = 0;
            break;
        }
        p->column = 0;
        break;
    case '\t': {
        unsigned spaces = 8 - (p->column & 7);
        if ((o & TABDLY) == TAB3) {
            if (out_room(p) < spaces)
                return false;
            p->column += spaces;
            while (spaces--)
                out_put(p, ' ');
            return true;
        }
        p->column += spaces;
        break;
    }
    case '\b':
        if (p->column > 0)
            p->column--;
        break;
    default:
        if (o & OLCUC && c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        if (!is_cntrl(c) && !((p->termios.c_iflag & IUTF8) && (c & 0xc0) == 0x80))
            p->column++;
    }
    if (!out_room(p))
        return false;
    out_put(p, c);
    return true;
}

/* Echoes c: a control character as ^X with ECHOCTL (but tab), else as output. An echo that
 * doesn't fit is dropped. */
static void echo_char(struct pty *p, unsigned char c)
{
    if ((p->termios.c_lflag & ECHOCTL) && is_cntrl(c) && c != '\t') {
        if (out_room(p) < 2)
            return;
        out_put(p, '^');
        out_put(p, c ^ 0100);
        p->column += 2;
        return;
    }
    output_char(p, c);
}

static void rubout(struct pty *p)
{
    output_char(p, '\b');
    output_char(p, ' ');
    output_char(p, '\b');
}

/* Moves the cursor back over an erased tab: to the column the line's text before it ends at. */
static void erase_tab(struct pty *p)
{
    unsigned col = p->canon_column;

    for (size_t i = p->canon_len; i < p->in_len; i++) {
        unsigned char c = p->in[i];
        if (c == '\t')
            col = (col | 7) + 1;
        else if (is_cntrl(c))
            col += (p->termios.c_lflag & ECHOCTL) ? 2 : 0;
        else
            col++;
    }
    while (p->column > col)
        output_char(p, '\b');
}

/* VERASE, VWERASE and VKILL in canonical mode (Linux's eraser). */
static void erase(struct pty *p, unsigned char c, enum erase_kind kind)
{
    uint32_t l = p->termios.c_lflag;
    bool seen_word = false;

    if (p->in_len == p->canon_len)
        return;
    if (kind == ERASE_LINE) {
        if (!(l & ECHO)) {
            p->in_len = p->canon_len;
            return;
        }
        if (!(l & ECHOK) || !(l & ECHOKE) || !(l & ECHOE)) {
            p->in_len = p->canon_len;
            echo_char(p, c);
            if (l & ECHOK)
                output_char(p, '\n');
            return;
        }
    }
    while (p->in_len > p->canon_len) {
        unsigned char e = p->in[p->in_len - 1];
        if (kind == ERASE_WORD) {
            if (is_word_char(e))
                seen_word = true;
            else if (seen_word)
                break;
        }
        p->in_len--;
        if (l & ECHO) {
            if (kind == ERASE_CHAR && !(l & ECHOE)) {
                echo_char(p, p->termios.c_cc[VERASE]);
            } else if (e == '\t') {
                erase_tab(p);
            } else {
                if (is_cntrl(e) && (l & ECHOCTL))
                    rubout(p);
                if (!is_cntrl(e) || (l & ECHOCTL))
                    rubout(p);
            }
        }
        if (kind == ERASE_CHAR)
            break;
    }
}

static void in_put(struct pty *p, unsigned char c, unsigned char mark)
{
    p->in[p->in_len] = c;
    p->in_mark[p->in_len] = mark;
    p->in_len++;
}

/* A line ends: the byte (an EOF as NUL, never read) is marked and the line becomes readable. */
static void end_line(struct pty *p, unsigned char c, unsigned char mark)
{
    if (p->in_len >= PTY_IN_CAP)
        return;
    in_put(p, mark == PTY_MARK_EOF ? 0 : c, mark);
    p->canon_len = p->in_len;
}

/* ISIG: the character's signal for the foreground group, flushing unless NOFLSH. */
static bool receive_signal_char(struct pty *p, unsigned char c)
{
    int sig = is_special(p, c, VINTR)   ? SIGINT
              : is_special(p, c, VQUIT) ? SIGQUIT
              : is_special(p, c, VSUSP) ? SIGTSTP
                                        : 0;
    if (!sig)
        return false;
    p->pending_signals |= SIGBIT(sig);
    if (!(p->termios.c_lflag & NOFLSH)) {
        ldisc_flush_input(p);
        ldisc_flush_output(p);
    }
    if (p->termios.c_lflag & ECHO)
        echo_char(p, c);
    return true;
}

/* Canonical mode's special characters; true if c was one (and is consumed). */
static bool receive_canon_char(struct pty *p, unsigned char c)
{
    uint32_t l = p->termios.c_lflag;

    if (is_special(p, c, VERASE) || is_special(p, c, VKILL) ||
        (is_special(p, c, VWERASE) && (l & IEXTEN))) {
        erase(p, c,
              is_special(p, c, VERASE)   ? ERASE_CHAR
              : is_special(p, c, VKILL) ? ERASE_LINE
                                        : ERASE_WORD);
        return true;
    }
    if (is_special(p, c, VLNEXT) && (l & IEXTEN)) {
        p->lnext = true;
        if ((l & ECHO) && (l & ECHOCTL)) {
            output_char(p, '^');
            output_char(p, '\b');
        }
        return true;
    }
    if (is_special(p, c, VREPRINT) && (l & ECHO) && (l & IEXTEN)) {
        echo_char(p, c);
        output_char(p, '\n');
        for (size_t i = p->canon_len; i < p->in_len; i++)
            echo_char(p, p->in[i]);
        return true;
    }
    if (c == '\n') {
        if (l & (ECHO | ECHONL))
            output_char(p, '\n');
        end_line(p, c, PTY_MARK_EOL);
        return true;
    }
    if (is_special(p, c, VEOF)) {
        end_line(p, c, PTY_MARK_EOF);
        return true;
    }
    if (is_special(p, c, VEOL) || (is_special(p, c, VEOL2) && (l & IEXTEN))) {
        if (l & ECHO) {
            if (p->in_len == p->canon_len)
                p->canon_column = p->column;
            echo_char(p, c);
        }
        end_line(p, c, PTY_MARK_EOL);
        return true;
    }
    return false;
}

bool ldisc_receive(struct pty *p, unsigned char c)
{
    uint32_t i = p->termios.c_iflag, l = p->termios.c_lflag;
    bool canon = l & ICANON;

    /* Raw input waits for room; canonical input beyond a full line is dropped (n_tty). */
    if (!canon && p->in_len >= PTY_IN_CAP)
        return false;
    if (i & ISTRIP)
        c &= 0x7f;
    if ((i & IUCLC) && (l & IEXTEN) && c >= 'A' && c <= 'Z')
        c = (unsigned char)(c - 'A' + 'a');
    if (p->lnext) {
        p->lnext = false;
    } else {
        if (i & IXON) {
            if (is_special(p, c, VSTOP)) {
                p->stopped = true;
                return true;
            }
            if (is_special(p, c, VSTART)) {
                p->stopped = false;
                return true;
            }
        }
        if ((l & ISIG) && receive_signal_char(p, c))
            return true;
        if (p->stopped && (i & IXON) && (i & IXANY))
            p->stopped = false;
        if (c == '\r') {
            if (i & IGNCR)
                return true;
            if (i & ICRNL)
                c = '\n';
        } else if (c == '\n' && (i & INLCR)) {
            c = '\r';
        }
        if (canon && receive_canon_char(p, c))
            return true;
    }
    if (canon && p->in_len >= PTY_IN_CAP - 1)
        return true;
    if (l & ECHO) {
        if (c == '\n') {
            output_char(p, '\n');
        } else {
            if (p->in_len == p->canon_len)
                p->canon_column = p->column;
            echo_char(p, c);
        }
    }
    in_put(p, c, PTY_MARK_NONE);
    return true;
}

size_t ldisc_write(struct pty *p, const unsigned char *buf, size_t len)
{
    size_t i = 0;

    while (i < len && output_char(p, buf[i]))
        i++;
    return i;
}

bool ldisc_readable(const struct pty *p, size_t min)
{
    if (p->termios.c_lflag & ICANON)
        return p->canon_len > 0;
    return p->in_len >= (min ? min : 1);
}

static void in_consume(struct pty *p, size_t n)
{
    memmove(p->in, p->in + n, p->in_len - n);
    memmove(p->in_mark, p->in_mark + n, p->in_len - n);
    p->in_len -= n;
    p->canon_len = p->canon_len > n ? p->canon_len - n : 0;
}

size_t ldisc_read(struct pty *p, unsigned char *buf, size_t len)
{
    if (!(p->termios.c_lflag & ICANON)) {
        size_t n = len < p->in_len ? len : p->in_len;
        memcpy(buf, p->in, n);
        in_consume(p, n);
        return n;
    }
    /* One line at most, its terminator included but for EOF's; what doesn't fit stays. */
    size_t end = 0;
    while (end < p->canon_len && p->in_mark[end] == PTY_MARK_NONE)
        end++;
    if (end >= p->canon_len)
        return 0;
    bool eof = p->in_mark[end] == PTY_MARK_EOF;
    size_t data = eof ? end : end + 1;
    size_t n = len < data ? len : data;
    memcpy(buf, p->in, n);
    in_consume(p, n == data && eof ? end + 1 : n);
    return n;
}

size_t ldisc_read_output(struct pty *p, unsigned char *buf, size_t len)
{
    size_t n = len < p->out_len ? len : p->out_len;

    for (size_t done = 0; done < n;) {
        size_t chunk = PTY_OUT_CAP - p->out_head;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(buf + done, p->out + p->out_head, chunk);
        p->out_head = (p->out_head + chunk) % PTY_OUT_CAP;
        done += chunk;
    }
    p->out_len -= n;
    return n;
}

void ldisc_flush_input(struct pty *p)
{
    p->in_len = p->canon_len = 0;
    p->lnext = false;
}

void ldisc_flush_output(struct pty *p)
{
    p->out_head = p->out_len = 0;
}

int ldisc_input_count(const struct pty *p)
{
    if (!(p->termios.c_lflag & ICANON))
        return (int)p->in_len;
    int n = 0;
    for (size_t i = 0; i < p->canon_len; i++)
        n += p->in_mark[i] != PTY_MARK_EOF;
    return n;
}

bool ldisc_input_room(const struct pty *p)
{
    return p->in_len < PTY_IN_CAP;
}

void ldisc_set_termios(struct pty *p, const struct ktermios *t)
{
    bool was_canon = p->termios.c_lflag & ICANON;

    p->termios = *t;
    if (was_canon == !!(t->c_lflag & ICANON))
        return;
    /* n_tty_set_termios: marks go; entering canonical mode makes pending input one line. */
    memset(p->in_mark, PTY_MARK_NONE, p->in_len);
    p->lnext = false;
    if (!(t->c_lflag & ICANON) || p->in_len == 0) {
        p->canon_len = 0;
        return;
    }
    p->in_mark[p->in_len - 1] = PTY_MARK_EOL;
    p->canon_len = p->in_len;
}
