#include <stddef.h>
long vec_sum(const long *v, size_t n);
void strbuf_upper(char *s);
void sort_longs(long *v, size_t n);
unsigned long hash_str(const char *s);
long parse_long(const char *s);
long sum_to(long n);
long fib(int n);
int count_primes(int below);
void report(const char *what, long value);
