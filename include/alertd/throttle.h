/*
 * throttle.h — the loop's answer to workers that are behind: stop reading
 * the LISTEN socket, keep everything else running.  Loop thread only.
 */
#ifndef LEO_THROTTLE_H
#define LEO_THROTTLE_H

#include <stdbool.h>

struct listen;

/*
 * Before and after a burst: true when messages wait in a worker's spill
 * (workers_backlog); then reading stops and a short timer moves them on and
 * resumes reading once none is left.  False: read on.
 */
bool throttle_hold(struct listen *l);

/* The connection is gone: stop the timer; the time held so far is counted. */
void throttle_stop(struct listen *l);

#endif
