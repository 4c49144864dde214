// struct ucred is only declared with _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <pwd.h>
#include <grp.h>
#include <stddef.h>
#include <unistd.h>
#include "CPeerCred.h"

_Static_assert(sizeof(ketenzicht_ucred) == sizeof(struct ucred), "ucred layout");
_Static_assert(offsetof(ketenzicht_ucred, uid) == offsetof(struct ucred, uid), "ucred layout");

int ketenzicht_so_peercred(void) { return SO_PEERCRED; }
int ketenzicht_sol_socket(void) { return SOL_SOCKET; }

int ketenzicht_user_in_group(uid_t uid, gid_t gid) {
    struct passwd entry, *result = NULL;
    char buffer[4096];
    if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &result) != 0 || result == NULL) return 0;
    if (entry.pw_gid == gid) return 1;
    int count = 256;
    gid_t groups[256];
    if (getgrouplist(entry.pw_name, entry.pw_gid, groups, &count) < 0) return 0;
    for (int i = 0; i < count; i++) if (groups[i] == gid) return 1;
    return 0;
}

long ketenzicht_uid_named(const char *name) {
    struct passwd entry, *result = NULL;
    char buffer[4096];
    if (getpwnam_r(name, &entry, buffer, sizeof(buffer), &result) != 0 || result == NULL) return -1;
    return (long)entry.pw_uid;
}

long ketenzicht_gid_named(const char *name) {
    struct group entry, *result = NULL;
    char buffer[16384];
    if (getgrnam_r(name, &entry, buffer, sizeof(buffer), &result) != 0 || result == NULL) return -1;
    return (long)entry.gr_gid;
}

#include <sys/resource.h>
#include <sys/syscall.h>

int ketenzicht_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
