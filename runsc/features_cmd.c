/* `runsc features`: prints the OCI features document (runtime-spec features.md) describing the
 * config.json fields this runsc honours, as `runc features` does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runsc/cli.h"
#include "runsc/oci/oci.h"

int cmd_features(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("usage: runsc features\n\nPrints the OCI features JSON of this runtime.\n");
            return 0;
        }
        fprintf(stderr, "runsc: \"features\" requires exactly 0 arguments\n");
        return 1;
    }
    char *json = oci_features_json();
    if (!json) {
        fprintf(stderr, "runsc features: out of memory\n");
        return 1;
    }
    fputs(json, stdout);
    free(json);
    return fflush(stdout) == 0 ? 0 : 1;
}
