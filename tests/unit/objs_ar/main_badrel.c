int badrel_fn(void);

int main(void)
{
    return badrel_fn();
}
