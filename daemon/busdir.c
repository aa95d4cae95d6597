/* busdir.c - the directory of an ipc:// bus socket: the permission boundary both bus sockets (events, control) share. */
#include "busdir.h"

/* Owns: making and checking the socket directory.  May call: log. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "pc_format.h"

/* The directory of an ipc:// socket is the permission boundary: only its
 * group may enter it.  Made here when missing; an existing one (from
 * tmpfiles.d, or an earlier run) is left as the administrator made it,
 * with a warning when anyone may enter it.  `what` names the socket
 * ("control", "events") in messages. */
int pcd_bus_prepare_dir(const char *path, const char *what, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return PC_OK;
    *slash = 0;
    if (mkdir(dir, 0750) == 0) {
        if (chmod(dir, 0750) != 0) {
            snprintf(err, errlen, "[bus] %s: directory %s: cannot chmod 0750: %s", what, dir,
                     strerror(errno));
            return PC_EIO;
        }
        return PC_OK;
    }
    if (errno != EEXIST) {
        snprintf(err, errlen, "[bus] %s: cannot create directory %s: %s", what, dir,
                 strerror(errno));
        return PC_EIO;
    }
    struct stat sb;
    if (stat(dir, &sb) == 0 && (sb.st_mode & 0007))
        LOG_WARN("bus", "%s socket directory %s: mode %03o lets every user reach the "
                 "%s socket; make it 0750 and owned by the service group", what, dir,
                 (unsigned)(sb.st_mode & 0777), what);
    return PC_OK;
}
