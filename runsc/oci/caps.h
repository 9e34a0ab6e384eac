/* Private to runsc/oci: the capability table the parser, `runsc spec` and `runsc features` share.
 */
#ifndef RUNSC_RUNSC_OCI_CAPS_H
#define RUNSC_RUNSC_OCI_CAPS_H

#include "runsc/oci/oci.h"

/* CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40): what Linux 5.9 and later define. */
#define OCI_CAP_COUNT 41

/* The name of capability number cap; NULL out of range. */
const char *oci_cap_name(int cap);

#endif
