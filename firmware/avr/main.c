/* frugal sensor firmware for the ATmega328P (Arduino Uno), 16 MHz.
 * Timer1 (2 MHz) is the clock: its compare interrupt schedules samples and stamps them,
 * its overflow extends it to 32-bit microseconds. The main loop converts the enabled
 * channels (ADC or INA2xx over TWI) and queues frames for the interrupt-driven UART;
 * host commands arrive on the UART receive interrupt, which stamps each line's first
 * byte (markers carry that time). Protocol: common/frugal_proto.h, docs/power.md. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>
#include <util/atomic.h>

#include "config.h"
#include "frugal_proto.h"
#include "fw_app.h"

#ifndef F_CPU
#error "F_CPU must be set (16000000 for an Arduino Uno)"
#endif

#ifdef FW_SIMAVR_SECTION
/* Tells simavr (and the test harness) which chip and clock this ELF was built for. */
#include "avr_mcu_section.h"
AVR_MCU(F_CPU, "atmega328p");
#endif

/* ---- clock: Timer1 at F_CPU/8 = 2 MHz ---- */
static volatile uint32_t t1_overflows;
ISR(TIMER1_OVF_vect) { ++t1_overflows; }

/* Microseconds since boot when Timer1 read `tc`; call with interrupts disabled, right
 * after reading TCNT1. */
static uint32_t clock_us(uint16_t tc) {
  uint32_t ov = t1_overflows;
  if ((TIFR1 & _BV(TOV1)) && tc < 0x8000) ++ov; /* overflow pending, not yet counted */
  return (ov << 15) + (tc >> 1);
}
static uint32_t now_us_locked(void) { return clock_us(TCNT1); }

/* ---- sampling schedule: compare A every period_ticks ---- */
static volatile uint16_t period_ticks;
static volatile uint8_t sample_due;
static volatile uint32_t sample_t_us;
static fw_state_t state = {FW_DEFAULT_RATE, FW_DEFAULT_MASK, 0, 1, 0, 0, 0, {0}};
ISR(TIMER1_COMPA_vect) {
  const uint16_t tc = TCNT1;
  const uint16_t due = OCR1A;
  OCR1A = due + period_ticks;
  if (sample_due) ++state.overruns; /* the main loop missed one: reported by '?' */
  /* The sample's time is the compare's, not this interrupt's (whose latency varies with
   * the other interrupts): subtract how late we are. */
  sample_t_us = clock_us(tc) - (uint16_t)(((tc >> 1) - (due >> 1)) & 0x7FFF);
  sample_due = 1;
}

static void clock_init(uint16_t rate) {
  period_ticks = (uint16_t)(2000000UL / rate);
  TCCR1A = 0;
  TCCR1B = _BV(CS11); /* /8 */
  OCR1A = TCNT1 + period_ticks;
  TIFR1 = _BV(OCF1A) | _BV(TOV1);
  TIMSK1 = _BV(OCIE1A) | _BV(TOIE1);
}

/* ---- UART: 1 Mbaud, interrupt-driven transmit ring ---- */
#define TX_SIZE 128
static volatile uint8_t tx_buf[TX_SIZE];
static volatile uint8_t tx_head, tx_tail;
static fp_cmd_t cmd;

ISR(USART_UDRE_vect) {
  if (tx_head == tx_tail) {
    UCSR0B &= (uint8_t)~_BV(UDRIE0);
    return;
  }
  UDR0 = tx_buf[tx_tail];
  tx_tail = (uint8_t)((tx_tail + 1) % TX_SIZE);
}

ISR(USART_RX_vect) {
  const uint8_t b = UDR0;
  fp_cmd_feed(&cmd, b, now_us_locked());
}

static void uart_put(uint8_t b) {
  const uint8_t next = (uint8_t)((tx_head + 1) % TX_SIZE);
  while (next == tx_tail) {
  } /* full: wait for the line (sampling overruns are counted, not hidden) */
  tx_buf[tx_head] = b;
  tx_head = next;
  UCSR0B |= _BV(UDRIE0);
}

static void uart_init(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = (uint16_t)(F_CPU / (8UL * FW_BAUD) - 1);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8N1 */
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

/* ---- ADC: AVcc reference, /64 prescaler (250 kHz, 52 us per conversion) ---- */
static uint16_t adc_read(uint8_t pin) {
  ADMUX = _BV(REFS0) | (pin & 0x07);
  ADCSRA |= _BV(ADSC);
  while (ADCSRA & _BV(ADSC)) {
  }
  return ADC;
}

static void adc_init(void) {
  ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1);
  DIDR0 = 0x0F; /* A0..A3 digital inputs off */
}

/* ---- TWI (I2C) at 400 kHz for INA219/INA226; every wait is bounded ---- */
static uint8_t twi_wait(void) {
  for (uint16_t i = 0; i < 2000; ++i)
    if (TWCR & _BV(TWINT)) return 1;
  return 0;
}
static uint8_t twi_start(uint8_t address_rw) {
  TWCR = _BV(TWINT) | _BV(TWSTA) | _BV(TWEN);
  if (!twi_wait()) return 0;
  TWDR = address_rw;
  TWCR = _BV(TWINT) | _BV(TWEN);
  if (!twi_wait()) return 0;
  const uint8_t status = TWSR & 0xF8;
  return status == 0x18 || status == 0x40; /* SLA+W or SLA+R acknowledged */
}
static uint8_t twi_write(uint8_t b) {
  TWDR = b;
  TWCR = _BV(TWINT) | _BV(TWEN);
  return twi_wait() && (TWSR & 0xF8) == 0x28;
}
static uint8_t twi_read(uint8_t ack) {
  TWCR = _BV(TWINT) | _BV(TWEN) | (ack ? _BV(TWEA) : 0);
  twi_wait();
  return TWDR;
}
static void twi_stop(void) { TWCR = _BV(TWINT) | _BV(TWSTO) | _BV(TWEN); }

static uint8_t ina_read(uint8_t address, uint8_t reg, uint16_t* value) {
  uint8_t ok = twi_start((uint8_t)(address << 1)) && twi_write(reg);
  ok = ok && twi_start((uint8_t)(address << 1 | 1));
  if (ok) {
    const uint8_t hi = twi_read(1);
    *value = (uint16_t)(hi << 8 | twi_read(0));
  }
  twi_stop();
  return ok;
}
static uint8_t ina_write(uint8_t address, uint8_t reg, uint16_t value) {
  const uint8_t ok = twi_start((uint8_t)(address << 1)) && twi_write(reg) &&
                     twi_write((uint8_t)(value >> 8)) && twi_write((uint8_t)value);
  twi_stop();
  return ok;
}

static void set_rate(uint32_t hz) {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { period_ticks = (uint16_t)(2000000UL / hz); }
}

static const fw_board_t kBoard = {"avr-uno", FP_BOARD_AVR_UNO, kChannels, FW_CHANNELS,
                                  FW_VREF, 1024, FW_MIN_RATE, FW_MAX_RATE, uart_put,
                                  adc_read, ina_read, ina_write, set_rate};

int main(void) {
  MCUSR = 0;
  wdt_disable();
  uart_init();
  adc_init();
  TWSR = 0;
  TWBR = (uint8_t)((F_CPU / 400000UL - 16) / 2); /* 400 kHz */
  clock_init(FW_DEFAULT_RATE);
  sei();
  uint32_t boot_t;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { boot_t = now_us_locked(); }
  fw_start(&kBoard, &state, boot_t);
  for (;;) {
    fp_command_t c;
    uint8_t have;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { have = fp_cmd_take(&cmd, &c); }
    if (have) fw_command(&kBoard, &state, &c);
    if (!sample_due) continue;
    uint32_t t;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
      t = sample_t_us;
      sample_due = 0;
    }
    fw_sample(&kBoard, &state, t);
  }
}
