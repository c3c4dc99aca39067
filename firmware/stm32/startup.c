/* Reset handler and vector table for the STM32F401/F411 (Cortex-M4F): copy .data,
 * clear .bss, enable the FPU, run main. Only the interrupts the firmware uses have
 * handlers; any other lands in a loop a debugger can see. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void TIM2_IRQHandler(void);
void USART1_IRQHandler(void);

void Reset_Handler(void) {
  uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
  __asm volatile("dsb\n isb");
  main();
  for (;;) {
  }
}

void Default_Handler(void) {
  for (;;) {
  }
}

#define VECTORS (16 + 38) /* core exceptions + IRQs up to USART1 (37) */
__attribute__((section(".isr_vector"), used)) void (*const vector_table[VECTORS])(void) = {
    [0] = (void (*)(void))(&_estack),
    [1] = Reset_Handler,
    [2 ... VECTORS - 1] = Default_Handler,
    [16 + 28] = TIM2_IRQHandler,
    [16 + 37] = USART1_IRQHandler,
};
