/* Names and descriptions of ej_status, generated from EJ_STATUS_MAP. */
#include "common/common.h"

EJ_API const char *ej_status_name(ej_status status)
{
    switch (status) {
#define EJ__NAME(code, name, desc) case EJ_##name: return #name;
        EJ_STATUS_MAP(EJ__NAME)
#undef EJ__NAME
    }
    return "UNKNOWN";
}

EJ_API const char *ej_status_str(ej_status status)
{
    switch (status) {
#define EJ__DESC(code, name, desc) case EJ_##name: return desc;
        EJ_STATUS_MAP(EJ__DESC)
#undef EJ__DESC
    }
    return "unknown status";
}
