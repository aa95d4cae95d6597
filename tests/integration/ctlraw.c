/* ctlraw.c - send the bytes on stdin to a control socket as one request, verbatim, and print the answer: malformed, oversized and resent requests for the scenarios.
 *
 * With --pause PID (the daemon), the connection is made first (a status
 * request), then the daemon is stopped while the request goes out and
 * continued 2.5 s later: REQ resends it after 1 s on the same connection,
 * so the daemon finds it twice. */
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

int main(int argc, char **argv)
{
    pid_t pause_pid = 0;
    if (argc == 4 && strcmp(argv[2], "--pause") == 0)
        pause_pid = (pid_t)atol(argv[3]);
    else if (argc != 2) {
        fprintf(stderr, "usage: ctlraw ADDR [--pause PID] < request\n");
        return 2;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    size_t n;
    while (len < cap && (n = fread(buf + len, 1, cap - len, stdin)) > 0)
        len += n;
    int s = nn_socket(AF_SP, NN_REQ);
    int tmo = 5000, linger = 0;
    nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    int ivl = 1000;
    nn_setsockopt(s, NN_REQ, NN_REQ_RESEND_IVL, &ivl, sizeof ivl);
    if (s < 0 || nn_connect(s, argv[1]) < 0) {
        fprintf(stderr, "ctlraw: %s: %s\n", argv[1], nn_strerror(nn_errno()));
        return 1;
    }
    if (pause_pid) {
        static const char warm[] = "PCCTL1 id=warmup uid=0 user=root pid=1\nstatus";
        char *ans = NULL;
        if (nn_send(s, warm, sizeof warm - 1, 0) < 0 || nn_recv(s, &ans, NN_MSG, 0) < 0) {
            fprintf(stderr, "ctlraw: warm-up: %s\n", nn_strerror(nn_errno()));
            return 1;
        }
        nn_freemsg(ans);
        kill(pause_pid, SIGSTOP);
    }
    if (nn_send(s, buf, len, 0) < 0) {
        fprintf(stderr, "ctlraw: %s: %s\n", argv[1], nn_strerror(nn_errno()));
        return 1;
    }
    if (pause_pid) {
        struct timespec ts = { 2, 500000000L };
        nanosleep(&ts, NULL);
        kill(pause_pid, SIGCONT);
    }
    char *ans = NULL;
    int got = nn_recv(s, &ans, NN_MSG, 0);
    if (got < 0) {
        fprintf(stderr, "ctlraw: no answer: %s\n", nn_strerror(nn_errno()));
        return 1;
    }
    fwrite(ans, 1, (size_t)got, stdout);
    putchar('\n');
    nn_freemsg(ans);
    nn_close(s);
    free(buf);
    return 0;
}
