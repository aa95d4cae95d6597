/* busdir.h - the directory of an ipc:// bus socket (events and control alike). */
#ifndef PCD_BUSDIR_H
#define PCD_BUSDIR_H

#include <stddef.h>

/* The directory of the ipc:// socket at `path` (the address without
 * "ipc://"): created 0750 when missing, a warning when every user may enter
 * an existing one.  `what` names the socket in messages.  PC_OK or PC_EIO. */
int  pcd_bus_prepare_dir(const char *path, const char *what, char *err, size_t errlen);

#endif
