// struct ucred is only declared with _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <pwd.h>
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>
#include "CPeerCred.h"

int ketenzicht_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int ketenzicht_user_in_group(uid_t uid, gid_t gid) {
    struct passwd entry, *result = NULL;
    char buffer[4096];
    if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &result) != 0 || result == NULL) return 0;
    if (entry.pw_gid == gid) return 1;
    int count = 64;
    gid_t groups[64];
    if (getgrouplist(entry.pw_name, entry.pw_gid, groups, &count) < 0) return 0;
    for (int i = 0; i < count; i++) if (groups[i] == gid) return 1;
    return 0;
}
