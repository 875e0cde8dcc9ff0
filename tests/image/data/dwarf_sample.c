unsigned long buffer_vaddr;
unsigned long counter = 7;
static int helper(int x) { return x + 1; }
void _start(void) {
    counter = helper((int)counter);
    for (;;) {}
}
