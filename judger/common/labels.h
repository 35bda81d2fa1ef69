/* Every label the judger puts on engine objects, in one place: what
 * reconciliation, gc and the cache look up is exactly what was written. */
#ifndef JD_LABELS_H
#define JD_LABELS_H

/* On every container and network: the host that made it. */
#define JD_LABEL_HOST "judger.host"
/* Matches: the match id, the role (game logic / player), the run key. */
#define JD_LABEL_MATCH "judger.match"
#define JD_LABEL_ROLE "judger.role"
#define JD_LABEL_RUN "judger.run"
/* The judger.role of a network of the stock of ready networks
 * (match/net_stock.h): no match or run label, kept between matches. */
#define JD_ROLE_NET_STOCK "stock"
/* On a stock network: which state directory's locks guard it (12 hex
 * digits of the sha256 of its path). */
#define JD_LABEL_STOCK "judger.stock"
/* A run (common/run_owner.h): what a `judger build` or a daemon build
 * creates carries the run's judger.owner=<id>; reconciliation keeps it
 * while a live process holds the run. */
#define JD_LABEL_OWNER "judger.owner"
/* Daemon tasks: the task id a container belongs to. */
#define JD_LABEL_TASK "judger.task"
/* Environment images: the program they are for and their Dockerfile. */
#define JD_LABEL_DOMAIN "judger.domain"
#define JD_LABEL_ID "judger.id"
#define JD_LABEL_OP "judger.op"
#define JD_LABEL_DOCKERFILE "judger.dockerfile-sha256"

#endif
