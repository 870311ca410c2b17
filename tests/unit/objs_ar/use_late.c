int late_trigger(void);

int use_late(void)
{
    return late_trigger();
}
