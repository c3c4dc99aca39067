/* frugal sensor firmware for STM32F401/F411 boards (Black Pill), register level, no
 * vendor library. TIM2 (32 bit, 1 MHz) is the microsecond clock; its compare channel 1
 * schedules samples. ADC1 (12 bit) reads PA0..PA7, I2C1 reads INA2xx, USART1 (PA9 TX,
 * PA10 RX, 1 Mbaud) talks to the host through a USB-serial adapter. Register addresses
 * and bits are from ST's RM0368 reference manual. */
#include <stdint.h>

#include "config.h"
#include "frugal_proto.h"
#include "fw_app.h"

#define REG(addr) (*(volatile uint32_t*)(addr))

#define RCC_AHB1ENR REG(0x40023830)
#define RCC_APB1ENR REG(0x40023840)
#define RCC_APB2ENR REG(0x40023844)

#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define GPIO_MODER(p) REG((p) + 0x00)
#define GPIO_OTYPER(p) REG((p) + 0x04)
#define GPIO_PUPDR(p) REG((p) + 0x0C)
#define GPIO_AFRL(p) REG((p) + 0x20)
#define GPIO_AFRH(p) REG((p) + 0x24)

#define TIM2_CR1 REG(0x40000000)
#define TIM2_DIER REG(0x4000000C)
#define TIM2_SR REG(0x40000010)
#define TIM2_EGR REG(0x40000014)
#define TIM2_CNT REG(0x40000024)
#define TIM2_PSC REG(0x40000028)
#define TIM2_ARR REG(0x4000002C)
#define TIM2_CCR1 REG(0x40000034)

#define USART1_SR REG(0x40011000)
#define USART1_DR REG(0x40011004)
#define USART1_BRR REG(0x40011008)
#define USART1_CR1 REG(0x4001100C)

#define ADC1_SR REG(0x40012000)
#define ADC1_CR2 REG(0x40012008)
#define ADC1_SMPR2 REG(0x40012010)
#define ADC1_SQR3 REG(0x40012034)
#define ADC1_DR REG(0x4001204C)

#define I2C1_CR1 REG(0x40005400)
#define I2C1_CR2 REG(0x40005404)
#define I2C1_DR REG(0x40005410)
#define I2C1_SR1 REG(0x40005414)
#define I2C1_SR2 REG(0x40005418)
#define I2C1_CCR REG(0x4000541C)
#define I2C1_TRISE REG(0x40005420)

#define NVIC_ISER0 REG(0xE000E100)
#define NVIC_ISER1 REG(0xE000E104)
#define IRQ_TIM2 28
#define IRQ_USART1 37

static inline void irq_off(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void irq_on(void) { __asm volatile("cpsie i" ::: "memory"); }

/* ---- clock and schedule ---- */
static volatile uint32_t period_us;
static volatile uint8_t sample_due;
static volatile uint32_t sample_t_us;
static fw_state_t state = {FW_DEFAULT_RATE, FW_DEFAULT_MASK, 0, 1, 0, 0, 0, {0}};

void TIM2_IRQHandler(void) {
  TIM2_SR = 0;
  TIM2_CCR1 += period_us;
  if (sample_due) ++state.overruns;
  sample_t_us = TIM2_CNT;
  sample_due = 1;
}

static void clock_init(uint32_t rate) {
  RCC_APB1ENR |= 1u << 0;
  period_us = 1000000UL / rate;
  TIM2_PSC = FW_CPU_HZ / 1000000UL - 1;
  TIM2_ARR = 0xFFFFFFFFu;
  TIM2_EGR = 1; /* load the prescaler */
  TIM2_SR = 0;
  TIM2_CCR1 = period_us;
  TIM2_DIER = 1u << 1; /* CC1IE */
  TIM2_CR1 = 1;
  NVIC_ISER0 = 1u << IRQ_TIM2;
}

static void set_rate(uint32_t hz) { period_us = 1000000UL / hz; }

/* ---- USART1 with a transmit ring ---- */
#define TX_SIZE 256
static volatile uint8_t tx_buf[TX_SIZE];
static volatile uint16_t tx_head, tx_tail;
static fp_cmd_t cmd;

void USART1_IRQHandler(void) {
  const uint32_t sr = USART1_SR;
  if (sr & (1u << 5)) fp_cmd_feed(&cmd, (uint8_t)USART1_DR, TIM2_CNT); /* RXNE */
  if ((sr & (1u << 7)) && (USART1_CR1 & (1u << 7))) {                  /* TXE */
    if (tx_head == tx_tail) {
      USART1_CR1 &= ~(1u << 7);
    } else {
      USART1_DR = tx_buf[tx_tail];
      tx_tail = (uint16_t)((tx_tail + 1) % TX_SIZE);
    }
  }
}

static void uart_put(uint8_t b) {
  const uint16_t next = (uint16_t)((tx_head + 1) % TX_SIZE);
  while (next == tx_tail) {
  }
  tx_buf[tx_head] = b;
  tx_head = next;
  USART1_CR1 |= 1u << 7;
}

static void uart_init(void) {
  RCC_APB2ENR |= 1u << 4;
  GPIO_MODER(GPIOA) = (GPIO_MODER(GPIOA) & ~(0xFu << 18)) | (0xAu << 18); /* PA9, PA10 AF */
  GPIO_AFRH(GPIOA) = (GPIO_AFRH(GPIOA) & ~(0xFFu << 4)) | (0x77u << 4);   /* AF7 */
  USART1_BRR = FW_CPU_HZ / FW_BAUD;                                        /* 16x oversampling */
  USART1_CR1 = (1u << 13) | (1u << 5) | (1u << 3) | (1u << 2);           /* UE RXNEIE TE RE */
  NVIC_ISER1 = 1u << (IRQ_USART1 - 32);
}

/* ---- ADC1, 12 bit, 84-cycle sampling for the sensors' output impedance ---- */
static uint16_t adc_read(uint8_t pin) {
  ADC1_SQR3 = pin;
  ADC1_CR2 |= 1u << 30; /* SWSTART */
  for (uint32_t i = 0; i < 10000 && !(ADC1_SR & (1u << 1)); ++i) {
  }
  return (uint16_t)ADC1_DR;
}

static void adc_init(void) {
  RCC_AHB1ENR |= 1u << 0;
  RCC_APB2ENR |= 1u << 8;
  GPIO_MODER(GPIOA) |= 0xFFFFu; /* PA0..PA7 analog */
  ADC1_SMPR2 = 04444444u;       /* 84 cycles on channels 0..7 (3 bits each) */
  ADC1_CR2 = 1;                 /* ADON */
}

/* ---- I2C1 at 100 kHz on PB6/PB7; every wait is bounded ---- */
static uint8_t i2c_wait(uint32_t bit) {
  for (uint32_t i = 0; i < 20000; ++i)
    if (I2C1_SR1 & bit) return 1;
  return 0;
}
static uint8_t i2c_begin(uint8_t address_rw) {
  I2C1_CR1 |= 1u << 8; /* START */
  if (!i2c_wait(1u << 0)) return 0;
  I2C1_DR = address_rw;
  if (!i2c_wait(1u << 1)) return 0; /* ADDR */
  (void)I2C1_SR2;
  return 1;
}
static void i2c_end(void) { I2C1_CR1 |= 1u << 9; /* STOP */ }
static uint8_t i2c_send(uint8_t b) {
  I2C1_DR = b;
  return i2c_wait(1u << 2); /* BTF */
}

static uint8_t ina_write(uint8_t address, uint8_t reg, uint16_t value) {
  const uint8_t ok = i2c_begin((uint8_t)(address << 1)) && i2c_send(reg) &&
                     i2c_send((uint8_t)(value >> 8)) && i2c_send((uint8_t)value);
  i2c_end();
  return ok;
}
static uint8_t ina_read(uint8_t address, uint8_t reg, uint16_t* value) {
  uint8_t ok = i2c_begin((uint8_t)(address << 1)) && i2c_send(reg);
  I2C1_CR1 |= 1u << 10; /* ACK the first byte */
  ok = ok && i2c_begin((uint8_t)(address << 1 | 1));
  ok = ok && i2c_wait(1u << 6); /* RXNE */
  const uint8_t hi = (uint8_t)I2C1_DR;
  I2C1_CR1 &= ~(1u << 10); /* NACK the last */
  i2c_end();
  ok = ok && i2c_wait(1u << 6);
  if (ok) *value = (uint16_t)(hi << 8 | (uint8_t)I2C1_DR);
  return ok;
}

static void i2c_init(void) {
  RCC_AHB1ENR |= 1u << 1;
  RCC_APB1ENR |= 1u << 21;
  GPIO_MODER(GPIOB) = (GPIO_MODER(GPIOB) & ~(0xFu << 12)) | (0xAu << 12); /* PB6, PB7 AF */
  GPIO_OTYPER(GPIOB) |= 3u << 6;                                          /* open drain */
  GPIO_PUPDR(GPIOB) = (GPIO_PUPDR(GPIOB) & ~(0xFu << 12)) | (0x5u << 12); /* pull-ups */
  GPIO_AFRL(GPIOB) = (GPIO_AFRL(GPIOB) & ~(0xFFu << 24)) | (0x44u << 24); /* AF4 */
  I2C1_CR2 = FW_CPU_HZ / 1000000UL;
  I2C1_CCR = FW_CPU_HZ / (2 * 100000UL);
  I2C1_TRISE = FW_CPU_HZ / 1000000UL + 1;
  I2C1_CR1 = 1; /* PE */
}

static const fw_board_t kBoard = {"stm32f4", FP_BOARD_STM32F4, kChannels, FW_CHANNELS,
                                  FW_VREF, 4096, FW_MIN_RATE, FW_MAX_RATE, uart_put,
                                  adc_read, ina_read, ina_write, set_rate};

int main(void) {
  uart_init();
  adc_init();
  i2c_init();
  clock_init(FW_DEFAULT_RATE);
  irq_on();
  fw_start(&kBoard, &state, TIM2_CNT);
  for (;;) {
    fp_command_t c;
    irq_off();
    const uint8_t have = fp_cmd_take(&cmd, &c);
    irq_on();
    if (have) fw_command(&kBoard, &state, &c);
    if (!sample_due) continue;
    irq_off();
    const uint32_t t = sample_t_us;
    sample_due = 0;
    irq_on();
    fw_sample(&kBoard, &state, t);
  }
}
