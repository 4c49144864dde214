#ifndef KETENZICHT_CPEERCRED_H
#define KETENZICHT_CPEERCRED_H
#include <sys/types.h>

/// The layout of Linux's `struct ucred`, which Swift's Glibc module hides behind _GNU_SOURCE.
typedef struct {
    pid_t pid;
    uid_t uid;
    gid_t gid;
} ketenzicht_ucred;

/// SO_PEERCRED and SOL_SOCKET, for `getsockopt` through SwiftNIO's SocketOptionProvider.
int ketenzicht_so_peercred(void);
int ketenzicht_sol_socket(void);

/// Whether `uid`'s user is a member of group `gid` (primary or supplementary). 1 yes, 0 no.
int ketenzicht_user_in_group(uid_t uid, gid_t gid);

/// The uid of a user name, or the gid of a group name; -1 when unknown.
long ketenzicht_uid_named(const char *name);
long ketenzicht_gid_named(const char *name);


/// Sets the nice value of the calling thread only (Linux schedules threads as tasks). 0 on success.
int ketenzicht_set_thread_nice(int nice);
#endif
