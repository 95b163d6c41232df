/* Hand-written C that uses the hand-kept header; it must compile unchanged against the
 * header layoutgen generates in its place. */
#include <stddef.h>
#include "sysmsg_hand.h"

_Static_assert(offsetof(struct sysmsg, state) == 44, "the stub reads state at 44");

unsigned int sysmsg_thread_id(const struct sysmsg *msg) { return msg->thread_id; }
