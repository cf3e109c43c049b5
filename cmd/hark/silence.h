/* SPDX-License-Identifier: MIT */
/* `hark silence add|list|expire` against a running harkd's API. */
#ifndef HARK_CMD_SILENCE_H
#define HARK_CMD_SILENCE_H

/* argv[0] is "silence". Returns the process exit code. */
int cmd_silence(int argc, char **argv);

#endif
