/* cli.h - commands of the pricecache CLI that live in files of their own. */
#ifndef PC_CLI_H
#define PC_CLI_H

/* `events [-a ADDR] [-n COUNT] [-t MS] [--heartbeats] [CHAIN...]`; -1 on
 * a usage error, else an exit status. */
int pc_cli_events(int argc, char **argv);

#endif
