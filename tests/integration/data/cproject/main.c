#include <stdio.h>
#include <string.h>
#include "common.h"

int main(void)
{
    long v[] = {5, 3, 9, 1, 7};
    sort_longs(v, 5);
    report("sorted first", v[0]);
    report("sorted last", v[4]);
    report("vec sum", vec_sum(v, 5));
    char s[] = "hello, runsc";
    strbuf_upper(s);
    printf("upper: %s\n", s);
    report("hash", (long)(hash_str("runsc") % 100000));
    report("parsed", parse_long("12345"));
    report("sum to 100", sum_to(100));
    report("fib 30", fib(30));
    report("primes below 10000", count_primes(10000));
    return 0;
}
