#include "common.h"
long sum_to(long n)
{
    return n * (n + 1) / 2;
}
