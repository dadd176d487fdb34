/* lograte.c - see lograte.h. */
#include "lograte.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

bool zb_lograte_due(zb_lograte_slot *slots, size_t n_slots, int64_t every_s, int kind,
                    const char *addr, uint64_t *left_out)
{
    int64_t now = mono_s();
    zb_lograte_slot *slot = NULL;
    for (size_t i = 0; i < n_slots; i++) {
        zb_lograte_slot *s = &slots[i];
        if (s->used && s->kind == kind && strcmp(s->addr, addr) == 0) {
            if (now - s->logged_at < every_s) {
                s->left_out++;
                return false;
            }
            *left_out = s->left_out;
            s->left_out = 0;
            s->logged_at = now;
            return true;
        }
        if (!slot || (slot->used && (!s->used || s->logged_at < slot->logged_at)))
            slot = s;
    }
    *slot = (zb_lograte_slot){.used = true, .kind = kind, .logged_at = now};
    snprintf(slot->addr, sizeof slot->addr, "%s", addr);
    *left_out = 0;
    return true;
}
