/* The assembly's view of sysmsg_hand.h, kept in step by hand (as upstream's
 * sysmsg_offsets.h is): the stub's .S files include this. */
#ifndef HAND_SYSMSG_OFFSETS_H_
#define HAND_SYSMSG_OFFSETS_H_

#define offsetof_sysmsg_self 0x0
#define offsetof_sysmsg_ret_addr 0x8
#define offsetof_sysmsg_syshandler 0x10
#define offsetof_sysmsg_syshandler_stack 0x18
#define offsetof_sysmsg_app_stack 0x20
#define offsetof_sysmsg_interrupt 0x28
#define offsetof_sysmsg_state 0x2c
#define offsetof_sysmsg_context 0x30

#define kTHREAD_STATE_NONE 0
#define kTHREAD_STATE_PREP 2

#endif /* HAND_SYSMSG_OFFSETS_H_ */
