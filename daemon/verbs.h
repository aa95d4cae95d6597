/* verbs.h - the control channel's verbs as the engine carries them out. */
#ifndef PCD_VERBS_H
#define PCD_VERBS_H

#include "control.h"
#include "engine.h"

/* The engine's handlers for pcd_control_open (ctx is `d`). */
void pcd_verbs_ops(engine *d, pcd_control_ops *ops);

#endif
