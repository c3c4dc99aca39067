# The formats of the hw tables and the accumulator each one's MAC uses (sourced).
FORMATS="e2m1 e3m2 e4m3 e5m2 fp16 bf16 fp32 int4 int8 fixed8.8"
acc_of() {
  case "$1" in
    int4) echo int16 ;;
    int8) echo fixed24.0 ;;
    fixed8.8) echo fixed8.16 ;;
    *) echo fp32 ;;
  esac
}
