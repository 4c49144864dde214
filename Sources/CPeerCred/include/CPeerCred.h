#ifndef KETENZICHT_CPEERCRED_H
#define KETENZICHT_CPEERCRED_H
#include <sys/types.h>

/// The credentials of the process at the other end of a Unix domain socket (SO_PEERCRED).
/// Returns 0 on success, -1 with errno set otherwise.
int ketenzicht_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// Whether `uid`'s user is a member of group `gid` (primary or supplementary). 1 yes, 0 no.
int ketenzicht_user_in_group(uid_t uid, gid_t gid);
#endif
