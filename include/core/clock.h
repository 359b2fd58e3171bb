/*
 * clock.h — the two clocks the daemon reads.  Any thread.
 *
 * Wall clock (µs since the epoch) for what the database and SPEC measure in
 * wall-clock time: firing times, cooldowns, windows, latencies.  Monotonic
 * (ms, µs) for deadlines inside the process, which must not jump.
 */
#ifndef LEO_CLOCK_H
#define LEO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
