/* libcommon.a: a tentative (common) definition in a member.  GNU ld and lld
 * pull the member for a name that is still undefined (the index lists
 * common symbols), though not for a name that is already common. */
int ar_common_var __attribute__((common));
