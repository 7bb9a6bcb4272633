/* The monotonic clock, in seconds: for timers, deadlines, throttles and ages. */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

/* CLOCK_MONOTONIC as seconds (never goes back, unrelated to wall time). */
double clock_mono(void);

#endif
