/* delayq.c - a fixed-delay line for packets, for the latency benchmark
 * (bench/netem), on kernels without sch_netem.
 *
 *     delayq QUEUE DELAY_US STATS.json
 *
 * iptables -j NFQUEUE --queue-num QUEUE hands every matched packet to this
 * program (metadata only, no payload); it accepts each one DELAY_US after
 * it arrived.  The delay is the same for every packet, so packets leave in
 * the order they came, and one NFQNL_MSG_VERDICT_BATCH ("accept every id
 * up to N") releases all whose time has come.  Prints "ready" on stdout
 * once bound; on SIGTERM or SIGINT it accepts what it still holds, unbinds
 * and writes its counters to STATS.json.
 *
 * The kernel's own counters for the queue (drops when it is full, or when
 * this program's socket buffer overflows) are in
 * /proc/net/netfilter/nfnetlink_queue; bench/netem reports them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DELAYQ_MAXLEN (1u << 20)        /* packets the kernel may hold for us */
#define DELAYQ_RCVBUF (64 << 20)        /* bytes of notifications not yet read */
#define DELAYQ_RING (1u << 21)          /* held packets we track (> MAXLEN) */

typedef struct {
    uint32_t id;
    uint64_t due_ns;
} delayq_pkt_t;

typedef struct {
    int fd;
    uint16_t queue;
    uint64_t delay_ns;
    uint32_t seq;
    delayq_pkt_t *ring;
    size_t head, n;             /* oldest held packet; how many */
    /* counters */
    uint64_t packets, batches, max_held, late_sum_ns, late_max_ns, errors;
    bool realtime;              /* SCHED_FIFO granted */
} delayq_t;

static volatile sig_atomic_t delayq_stop;

static void on_signal(int sig)
{
    (void)sig;
    delayq_stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------- messages */

typedef struct {
    char buf[256];
    size_t len;
} delayq_msg_t;

static struct nlmsghdr *msg_start(delayq_msg_t *m, delayq_t *q, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)m->buf;
    struct nfgenmsg *nfg;

    memset(m->buf, 0, sizeof(m->buf));
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(*nfg));
    nh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
    nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    nh->nlmsg_seq = ++q->seq;
    nfg = NLMSG_DATA(nh);
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(q->queue);
    m->len = nh->nlmsg_len;
    return nh;
}

static int msg_attr(delayq_msg_t *m, uint16_t type, const void *data, size_t len)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)m->buf;
    struct nlattr *a;
    size_t at = NLMSG_ALIGN(m->len);

    if (at + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(m->buf))
        return -1;
    a = (struct nlattr *)(m->buf + at);
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    memcpy((char *)a + NLA_HDRLEN, data, len);
    m->len = at + NLA_HDRLEN + NLA_ALIGN(len);
    nh->nlmsg_len = (uint32_t)m->len;
    return 0;
}

static int msg_send(delayq_t *q, const delayq_msg_t *m)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

    if (sendto(q->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        q->errors++;
        return -1;
    }
    return 0;
}

/* Send a configuration message and wait for the kernel's acknowledgement. */
static int config_send(delayq_t *q, const delayq_msg_t *m, const char *what)
{
    char reply[4096];

    if (msg_send(q, m) != 0) {
        fprintf(stderr, "delayq: %s: %s\n", what, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t got = recv(q->fd, reply, sizeof(reply), 0);
        int len = (int)got;

        if (got < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "delayq: %s: %s\n", what, strerror(errno));
            return -1;
        }
        for (struct nlmsghdr *nh = (struct nlmsghdr *)reply; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
            if (nh->nlmsg_type == NLMSG_ERROR && nh->nlmsg_seq == q->seq) {
                const struct nlmsgerr *e = NLMSG_DATA(nh);
                if (e->error != 0) {
                    fprintf(stderr, "delayq: %s: %s\n", what, strerror(-e->error));
                    return -1;
                }
                return 0;
            }
        }
    }
}

static int config(delayq_t *q, uint16_t attr, const void *data, size_t len, const char *what)
{
    delayq_msg_t m;

    msg_start(&m, q, NFQNL_MSG_CONFIG, NLM_F_ACK);
    if (msg_attr(&m, attr, data, len) != 0)
        return -1;
    return config_send(q, &m, what);
}

static int bind_queue(delayq_t *q)
{
    struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND};
    struct nfqnl_msg_config_params params = {.copy_range = htonl(0), .copy_mode = NFQNL_COPY_META};
    uint32_t maxlen = htonl(DELAYQ_MAXLEN);
    /* GSO: loopback's 64 KiB segments are handed over whole, not split */
    uint32_t flags = htonl(NFQA_CFG_F_GSO), mask = htonl(NFQA_CFG_F_GSO);
    delayq_msg_t m;

    if (config(q, NFQA_CFG_CMD, &cmd, sizeof(cmd), "bind") != 0 ||
        config(q, NFQA_CFG_PARAMS, &params, sizeof(params), "copy mode") != 0 ||
        config(q, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen), "queue length") != 0)
        return -1;
    msg_start(&m, q, NFQNL_MSG_CONFIG, NLM_F_ACK);
    if (msg_attr(&m, NFQA_CFG_MASK, &mask, sizeof(mask)) != 0 ||
        msg_attr(&m, NFQA_CFG_FLAGS, &flags, sizeof(flags)) != 0)
        return -1;
    return config_send(q, &m, "GSO flag");
}

/* Accept every held packet up to and including id. */
static void release_upto(delayq_t *q, uint32_t id)
{
    struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
    delayq_msg_t m;

    msg_start(&m, q, NFQNL_MSG_VERDICT_BATCH, 0);
    if (msg_attr(&m, NFQA_VERDICT_HDR, &v, sizeof(v)) == 0 && msg_send(q, &m) == 0)
        q->batches++;
}

/* ---------------------------------------------------------- the line */

static void hold(delayq_t *q, uint32_t id, uint64_t now)
{
    if (q->n == DELAYQ_RING) {      /* cannot happen below DELAYQ_MAXLEN; accept at once */
        release_upto(q, id);
        q->errors++;
        return;
    }
    q->ring[(q->head + q->n) % DELAYQ_RING] = (delayq_pkt_t){.id = id, .due_ns = now + q->delay_ns};
    q->n++;
    q->packets++;
    if (q->n > q->max_held)
        q->max_held = q->n;
}

/* Release what is due; returns ns until the next packet is due (or -1). */
static int64_t release_due(delayq_t *q, uint64_t now)
{
    size_t k = 0;
    uint32_t last = 0;

    while (k < q->n) {
        const delayq_pkt_t *p = &q->ring[(q->head + k) % DELAYQ_RING];
        if (p->due_ns > now)
            break;
        uint64_t late = now - p->due_ns;
        q->late_sum_ns += late;
        if (late > q->late_max_ns)
            q->late_max_ns = late;
        last = p->id;
        k++;
    }
    if (k > 0) {
        release_upto(q, last);
        q->head = (q->head + k) % DELAYQ_RING;
        q->n -= k;
    }
    return q->n ? (int64_t)(q->ring[q->head].due_ns - now) : -1;
}

/* Read every notification waiting on the socket. */
static void drain(delayq_t *q, char *buf, size_t cap)
{
    for (;;) {
        ssize_t got = recv(q->fd, buf, cap, MSG_DONTWAIT);
        int len = (int)got;
        uint64_t now;

        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                q->errors++;    /* ENOBUFS: notifications lost; the kernel counts them */
            return;
        }
        now = now_ns();
        for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
            size_t off = NLMSG_ALIGN(sizeof(struct nfgenmsg));
            size_t end = nh->nlmsg_len - NLMSG_HDRLEN;

            if ((nh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET || (nh->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
                continue;
            while (off + NLA_HDRLEN <= end) {
                const struct nlattr *a = (const struct nlattr *)((const char *)NLMSG_DATA(nh) + off);
                if (a->nla_len < NLA_HDRLEN || off + a->nla_len > end)
                    break;
                if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
                    a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
                    struct nfqnl_msg_packet_hdr ph;
                    memcpy(&ph, (const char *)a + NLA_HDRLEN, sizeof(ph));
                    hold(q, ntohl(ph.packet_id), now);
                    break;
                }
                off += NLA_ALIGN(a->nla_len);
            }
        }
    }
}

static int write_stats(const delayq_t *q, const char *path, double cpu_s)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fprintf(f, "{\"delay_us\": %.0f, \"packets\": %llu, \"batches\": %llu, \"max_held\": %llu, "
               "\"mean_late_us\": %.1f, \"max_late_us\": %.1f, \"errors\": %llu, \"cpu_s\": %.3f, "
               "\"realtime\": %s}\n",
            (double)q->delay_ns / 1e3, (unsigned long long)q->packets, (unsigned long long)q->batches,
            (unsigned long long)q->max_held,
            q->packets ? (double)q->late_sum_ns / (double)q->packets / 1e3 : 0.0,
            (double)q->late_max_ns / 1e3, (unsigned long long)q->errors, cpu_s, q->realtime ? "true" : "false");
    return fclose(f);
}

int main(int argc, char **argv)
{
    delayq_t q = {0};
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    struct sigaction sa = {.sa_handler = on_signal};
    static char buf[1 << 16];
    int one = 1, rcvbuf = DELAYQ_RCVBUF;
    char *end;
    long queue, delay_us;
    struct timespec cpu;
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: delayq QUEUE DELAY_US STATS.json\n");
        return 2;
    }
    queue = strtol(argv[1], &end, 10);
    if (*end || queue < 0 || queue > 65535)
        return 2;
    delay_us = strtol(argv[2], &end, 10);
    if (*end || delay_us < 0 || delay_us > 10 * 1000 * 1000)
        return 2;
    q.queue = (uint16_t)queue;
    q.delay_ns = (uint64_t)delay_us * 1000u;
    q.ring = malloc(sizeof(*q.ring) * DELAYQ_RING);
    q.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (q.ring == NULL || q.fd < 0 || bind(q.fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
        fprintf(stderr, "delayq: netlink: %s\n", strerror(errno));
        goto done;
    }
    if (setsockopt(q.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
        setsockopt(q.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(q.fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
    if (bind_queue(&q) != 0)
        goto done;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* never outlive the benchmark (a held namespace, packets never let go) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* wake when a packet is due, not up to 50 µs later, and before the
     * benchmark's own busy processes (netem would run in softirq) */
    prctl(PR_SET_TIMERSLACK, 1UL);
    {
        struct sched_param sp = {.sched_priority = 1};
        q.realtime = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
    }
    printf("ready\n");
    fflush(stdout);

    while (!delayq_stop) {
        struct pollfd pfd = {.fd = q.fd, .events = POLLIN};
        int64_t wait_ns = release_due(&q, now_ns());
        struct timespec ts, *tsp = NULL;

        if (wait_ns >= 0) {
            ts.tv_sec = wait_ns / 1000000000;
            ts.tv_nsec = wait_ns % 1000000000;
            tsp = &ts;
        }
        if (ppoll(&pfd, 1, tsp, NULL) > 0)
            drain(&q, buf, sizeof(buf));
    }
    drain(&q, buf, sizeof(buf));
    if (q.n > 0)
        release_upto(&q, q.ring[(q.head + q.n - 1) % DELAYQ_RING].id);
    {
        struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_UNBIND};
        config(&q, NFQA_CFG_CMD, &cmd, sizeof(cmd), "unbind");
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    rc = write_stats(&q, argv[3], (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9) == 0 ? 0 : 1;
done:
    if (q.fd >= 0)
        close(q.fd);
    free(q.ring);
    return rc;
}
