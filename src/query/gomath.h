/* gomath.h: the elementary functions of Go's math package, bit for bit.
 *
 * PromQL answers must equal Prometheus 2.42's (Debian's build: go1.19.8,
 * linux/amd64), and glibc's libm differs from Go's math package in the last
 * bits of exp, log, the trigonometric and hyperbolic functions and pow. The
 * functions below repeat, operation for operation, what Go 1.19's math.X
 * computes on amd64 (assembly Exp and Log, pure Go for the rest); see the
 * essay at the top of gomath.c. sqrt, floor, ceil, fabs and fmod are exact in
 * both and stay with libm.
 *
 * The functions are thread-safe and depend only on their arguments and on
 * the CPU (exp's FMA path, below); they assume the default rounding mode.
 * NaN results carry Go's payload where Go makes one; callers should not rely
 * on NaN payloads. Targets amd64; elsewhere the plain path stands in. */
#ifndef TIDE_QUERY_GOMATH_H
#define TIDE_QUERY_GOMATH_H

#include <stdbool.h>

double gomath_exp(double x);   /* math.Exp   (exp_amd64.s) */
double gomath_log(double x);   /* math.Log   (log_amd64.s) */
double gomath_log2(double x);  /* math.Log2  */
double gomath_log10(double x); /* math.Log10 */
double gomath_log1p(double x); /* math.Log1p */
double gomath_sin(double x);   /* math.Sin   */
double gomath_cos(double x);   /* math.Cos   */
double gomath_tan(double x);   /* math.Tan   */
double gomath_asin(double x);  /* math.Asin  */
double gomath_acos(double x);  /* math.Acos  */
double gomath_atan(double x);  /* math.Atan  */
double gomath_sinh(double x);  /* math.Sinh  */
double gomath_cosh(double x);  /* math.Cosh  */
double gomath_tanh(double x);  /* math.Tanh  */
double gomath_asinh(double x); /* math.Asinh */
double gomath_acosh(double x); /* math.Acosh */
double gomath_atanh(double x); /* math.Atanh */

double gomath_atan2(double y, double x); /* math.Atan2(y, x), PromQL's `atan2` */
double gomath_pow(double x, double y);   /* math.Pow(x, y), PromQL's `^` */

/* Whether gomath_exp() (and so pow, sinh, cosh, tanh) takes the fused
 * multiply-add path, as Go does when the CPU and OS support AVX and FMA. */
bool gomath_uses_fma(void);

/* Tests only: force the plain (non-FMA) path of gomath_exp() with off=true,
 * to compare against a Go program run with GODEBUG=cpu.fma=off. Call before
 * any other gomath function; not thread-safe. */
void gomath_force_no_fma(bool off);

#endif
