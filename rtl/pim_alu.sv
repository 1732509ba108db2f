// PIM ALU: LANES-wide FP16 SIMD unit of the HBM processing-in-memory model.
//
// Specification: docs/pim-alu.md (the bit-exact C++ model models/pim/fp16_alu.{h,cpp} implements
// the same contract independently; testbench/rtl compares the two bit for bit). Implementation
// notes, lint and synthesis figures: docs/pim-alu-rtl.md.
//
// Arithmetic is an integer datapath (unpack -> multiply/align -> normalise -> round to nearest,
// ties to even); subnormals are kept, overflow gives +-Inf, every NaN result is the canonical
// quiet NaN (FP16 0x7E00, FP32 0x7FC00000).
//
// Pipeline (LATENCY = 2 register stages, elastic valid/ready, synchronous active-low reset):
//   stage 1  multiplier (round16(a*b) and the exact binary32 product a*b) and adder operand
//            selection                                             -> s1_* registers
//   stage 2  adder (binary16, plus binary32 when ACC_FP32) and result select -> out_* registers
// A beat moves from stage k to k+1 when stage k holds a beat and stage k+1 is empty or is
// handing its beat on in the same cycle; with out_ready high one operation is accepted per cycle.
// in_ready depends combinationally on out_ready (no skid buffer) and is low while rst_n is low,
// so no handshake is ever accepted during reset. Beats in flight when reset is applied are
// discarded; out_valid is 0 after reset. Data registers are not reset (only the valid bits).
//
// All modules live in this one file so that `verilator --lint-only -Wall rtl/pim_alu.sv` and
// `read_verilog -sv rtl/pim_alu.sv` need no search path.

`timescale 1ns / 1ps

module pim_alu #(
    parameter int LANES    = 16,
    parameter bit ACC_FP32 = 0
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic                     in_valid,
    output logic                     in_ready,
    input  logic [              2:0] in_op,
    input  logic [     LANES*16-1:0] in_a,
    input  logic [     LANES*16-1:0] in_b,
    input  logic [LANES*(ACC_FP32 ? 32 : 16)-1:0] in_c,
    output logic                     out_valid,
    input  logic                     out_ready,
    output logic [LANES*(ACC_FP32 ? 32 : 16)-1:0] out_d,
    output logic [              2:0] out_op
);
  localparam int ACC_W = ACC_FP32 ? 32 : 16;
  // Cycles from the input handshake to the output beat when out_ready stays high.
  localparam int LATENCY = 2;

  // Operation codes (docs/pim-alu.md); NOP (0) and the reserved code 7 give d = 0.
  localparam logic [2:0] OP_ADD = 3'd1;
  localparam logic [2:0] OP_MUL = 3'd2;
  localparam logic [2:0] OP_MAC = 3'd3;
  localparam logic [2:0] OP_MAD = 3'd4;
  localparam logic [2:0] OP_MOV = 3'd5;
  localparam logic [2:0] OP_FILL = 3'd6;

  // ---------------------------------------------------------------- pipeline control
  logic v1, v2;  // stage 1 / stage 2 (output) hold a beat
  logic rdy1, rdy2;  // stage may load this cycle
  logic ld1, ld2;

  assign rdy2      = !v2 || out_ready;
  assign rdy1      = !v1 || rdy2;
  assign in_ready  = rst_n && rdy1;
  assign ld1       = rdy1 && in_valid;
  assign ld2       = rdy2 && v1;
  assign out_valid = v2;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      v1 <= 1'b0;
      v2 <= 1'b0;
    end else begin
      if (rdy1) v1 <= in_valid;
      if (rdy2) v2 <= v1;
    end
  end

  // ---------------------------------------------------------------- per-operation decode
  logic [2:0] s1_op;
  logic in_is_mac, in_is_copy, s1_use_add16;

  assign in_is_mac = (in_op == OP_MAC) || (in_op == OP_MAD);
  assign in_is_copy = (in_op == OP_MOV) || (in_op == OP_FILL);
  // The FP16 adder serves ADD, and MAC/MAD when the accumulator is FP16.
  assign s1_use_add16 = (s1_op == OP_ADD) || (!ACC_FP32 && ((s1_op == OP_MAC) || (s1_op == OP_MAD)));

  always_ff @(posedge clk) begin
    if (ld1) s1_op <= in_op;
    if (ld2) out_op <= s1_op;
  end

  // ---------------------------------------------------------------- lanes
  for (genvar i = 0; i < LANES; i++) begin : g_lane
    logic [15:0] a, b, p16;
    logic [31:0] p32;
    logic [ACC_W-1:0] c;
    logic [15:0] s1_x16, s1_y16, sum16;  // FP16 adder operands (registered) and result
    logic [15:0] s1_dir;  // result that needs no adder (MUL, MOV, FILL, NOP, reserved)
    logic [15:0] res16;  // the FP16 result (every op except MAC/MAD with ACC_FP32)
    logic [ACC_W-1:0] res;

    assign a = in_a[16*i+:16];
    assign b = in_b[16*i+:16];
    assign c = in_c[ACC_W*i+:ACC_W];

    pim_alu_fp16_mul u_mul (
        .a_i  (a),
        .b_i  (b),
        .p16_o(p16),
        .p32_o(p32)
    );

    always_ff @(posedge clk) begin
      if (ld1) begin
        // MAC/MAD with an FP16 accumulator: c + round16(a*b); otherwise (ADD) a + b.
        s1_x16 <= (!ACC_FP32 && in_is_mac) ? c[15:0] : a;
        s1_y16 <= (!ACC_FP32 && in_is_mac) ? p16 : b;
        s1_dir <= (in_op == OP_MUL) ? p16 : (in_is_copy ? a : 16'h0000);
      end
    end

    pim_alu_fp_add #(
        .EW(5),
        .MW(10)
    ) u_add16 (
        .x_i(s1_x16),
        .y_i(s1_y16),
        .s_o(sum16)
    );
    assign res16 = s1_use_add16 ? sum16 : s1_dir;

    if (ACC_FP32) begin : g_acc32
      // MAC/MAD: round32(c + p) with p = a*b exact in binary32: one rounding.
      logic [31:0] s1_x32, s1_y32, sum32;
      always_ff @(posedge clk) begin
        if (ld1) begin
          s1_x32 <= c[31:0];
          s1_y32 <= p32;
        end
      end
      pim_alu_fp_add #(
          .EW(8),
          .MW(23)
      ) u_add32 (
          .x_i(s1_x32),
          .y_i(s1_y32),
          .s_o(sum32)
      );
      logic s1_use_add32;
      assign s1_use_add32 = (s1_op == OP_MAC) || (s1_op == OP_MAD);
      assign res = s1_use_add32 ? ACC_W'(sum32) : ACC_W'(res16);  // FP16 results zero-extended
    end else begin : g_acc16
      logic [31:0] unused_p32;  // the exact product is only needed for a binary32 accumulator
      assign unused_p32 = p32;
      assign res = ACC_W'(res16);
    end

    always_ff @(posedge clk) begin
      if (ld2) out_d[ACC_W*i+:ACC_W] <= res;
    end
  end

  // LATENCY documents the pipeline depth for users of the RTL; the logic above realises it.
  logic [31:0] unused_latency;
  assign unused_latency = LATENCY;
endmodule


// Helper modules below share this file (see the header); Verilator's DECLFILENAME rule expects
// one module per file named after it, so it is waived for exactly these two declarations.
/* verilator lint_off DECLFILENAME */

// FP16 x FP16 multiplier: p16_o = round16(a*b) (RNE, subnormals, overflow to Inf, canonical NaN)
// and p32_o = a*b exactly as binary32 (always representable: 22 significant bits, exponent within
// 2^-48 .. 2^32, so it is a binary32 normal number, +-0, +-Inf or NaN).
module pim_alu_fp16_mul (
    input  logic [15:0] a_i,
    input  logic [15:0] b_i,
    output logic [15:0] p16_o,
    output logic [31:0] p32_o
);
  logic sa, sb, sp;
  logic [4:0] ea_f, eb_f, ea, eb;
  logic [9:0] ma, mb;
  logic a_nan, b_nan, a_inf, b_inf, a_zero, b_zero, is_nan, is_inf, is_zero;
  logic [21:0] prod, pn, sh;
  logic [4:0] lz;
  logic [7:0] e32;  // biased binary32 exponent of the (exact) product: 79 .. 158
  logic signed [8:0] e16;  // biased binary16 exponent before rounding: -33 .. 46
  logic [5:0] dshift;  // right shift into the subnormal range: 1 .. 34
  logic [43:0] shw;
  logic sticky_lo, g, st, rnd;
  logic unused_sh21;  // hidden bit of the shifted significand: carried by the exponent field
  logic [4:0] field;
  logic [14:0] mag;

  function automatic logic [4:0] lzc22(input logic [21:0] v);
    lzc22 = 5'd22;
    for (int k = 0; k < 22; k++) if (v[k]) lzc22 = 5'(21 - k);
  endfunction

  always_comb begin
    sa = a_i[15];
    sb = b_i[15];
    ea_f = a_i[14:10];
    eb_f = b_i[14:10];
    ma = a_i[9:0];
    mb = b_i[9:0];
    sp = sa ^ sb;

    a_nan = (ea_f == 5'h1F) && (ma != 10'h0);
    b_nan = (eb_f == 5'h1F) && (mb != 10'h0);
    a_inf = (ea_f == 5'h1F) && (ma == 10'h0);
    b_inf = (eb_f == 5'h1F) && (mb == 10'h0);
    a_zero = (ea_f == 5'h00) && (ma == 10'h0);
    b_zero = (eb_f == 5'h00) && (mb == 10'h0);
    is_nan = a_nan || b_nan || (a_inf && b_zero) || (a_zero && b_inf);
    is_inf = !is_nan && (a_inf || b_inf);
    is_zero = !is_nan && !is_inf && (a_zero || b_zero);

    // Unpack: a subnormal has exponent 1 and no hidden bit.
    ea = (ea_f == 5'h00) ? 5'd1 : ea_f;
    eb = (eb_f == 5'h00) ? 5'd1 : eb_f;
    prod = {(ea_f != 5'h00), ma} * {(eb_f != 5'h00), mb};  // 11 x 11 -> 22 bits
    lz = lzc22(prod);
    pn = prod << lz;  // leading one at bit 21 (prod != 0 on the finite path)
    // value = pn * 2^(ea + eb - 50 - lz) = 1.f * 2^(ea + eb - 29 - lz)
    e32 = 8'(ea) + 8'(eb) + 8'd98 - 8'(lz);
    e16 = 9'(ea) + 9'(eb) - 9'sd14 - 9'(lz);

    // Binary16 rounding. Normal: mantissa pn[20:11], guard pn[10], sticky |pn[9:0].
    // Subnormal (e16 <= 0): shift right by 1 - e16 first, exponent field 0.
    dshift = (e16 > 9'sd0) ? 6'd0 : ((e16 < -9'sd33) ? 6'd34 : 6'(9'sd1 - e16));
    shw = {pn, 22'h0} >> dshift;
    sh = shw[43:22];
    sticky_lo = |shw[21:0];
    unused_sh21 = sh[21];
    field = (e16 > 9'sd0) ? e16[4:0] : 5'd0;
    g = sh[10];
    st = (|sh[9:0]) || sticky_lo;
    rnd = g && (st || sh[11]);
    // Adding the rounding increment to {exponent, mantissa} carries correctly into the next
    // binade, from the largest subnormal to the smallest normal, and from 0x7BFF to Inf.
    mag = {field, sh[20:11]} + 15'(rnd);

    if (is_nan) begin
      p16_o = 16'h7E00;
      p32_o = 32'h7FC0_0000;
    end else if (is_inf) begin
      p16_o = {sp, 15'h7C00};
      p32_o = {sp, 31'h7F80_0000};
    end else if (is_zero) begin
      p16_o = {sp, 15'h0000};
      p32_o = {sp, 31'h0000_0000};
    end else begin
      p16_o = (e16 >= 9'sd31) ? {sp, 15'h7C00} : {sp, mag};
      p32_o = {sp, e32, pn[20:0], 2'b00};
    end
  end
endmodule


// IEEE 754 adder for one binary format (EW exponent bits, MW fraction bits): s_o = round(x + y),
// round to nearest even, subnormals kept, overflow to +-Inf, canonical quiet NaN, exact zero sums
// +0 unless both addends are -0.
module pim_alu_fp_add #(
    parameter int EW = 5,
    parameter int MW = 10
) (
    input  logic [EW+MW:0] x_i,
    input  logic [EW+MW:0] y_i,
    output logic [EW+MW:0] s_o
);
  localparam int W = EW + MW + 1;
  localparam int SW = MW + 1;  // significand with the hidden bit
  localparam int XW = SW + 3;  // plus guard, round and sticky bits
  localparam int LZW = $clog2(XW + 1);  // leading-zero counts 0 .. XW
  localparam int NW = ((EW > LZW) ? EW : LZW) + 1;  // shift / exponent arithmetic
  localparam logic [EW-1:0] EMAX = '1;
  localparam logic [W-1:0] QNAN = {1'b0, EMAX, 1'b1, {(MW - 1) {1'b0}}};

  logic swap, sgn_b, sgn_s, sub, zero_sum, rs, rnd;
  logic [W-1:0] opb, ops;
  logic [EW-1:0] ef_b, ef_s, e_b, e_s, e_n, field;
  logic [MW-1:0] m_b, m_s;
  logic b_nan, b_inf, s_inf;
  logic [EW-1:0] d;
  logic [NW-1:0] dcap, lim, lz, shamt;
  logic [2*XW-1:0] align;
  logic [XW-1:0] y_al, norm;
  logic [XW:0] sum;
  logic [EW+MW-1:0] mag;

  function automatic logic [NW-1:0] lzc(input logic [XW-1:0] v);
    lzc = NW'(XW);
    for (int k = 0; k < XW; k++) if (v[k]) lzc = NW'(XW - 1 - k);
  endfunction

  always_comb begin
    // Order the operands by magnitude: |opb| >= |ops|. A NaN has the largest magnitude, so any
    // NaN operand ends up in opb.
    swap = x_i[W-2:0] < y_i[W-2:0];
    opb = swap ? y_i : x_i;
    ops = swap ? x_i : y_i;
    sgn_b = opb[W-1];
    sgn_s = ops[W-1];
    ef_b = opb[W-2:MW];
    ef_s = ops[W-2:MW];
    m_b = opb[MW-1:0];
    m_s = ops[MW-1:0];
    b_nan = (ef_b == EMAX) && (m_b != '0);
    b_inf = (ef_b == EMAX) && (m_b == '0);
    s_inf = (ef_s == EMAX) && (m_s == '0);
    sub = sgn_b ^ sgn_s;

    // Align: the smaller significand moves right by the exponent difference; bits that fall
    // off below the round bit are ORed into the sticky bit.
    e_b = (ef_b == '0) ? EW'(1) : ef_b;
    e_s = (ef_s == '0) ? EW'(1) : ef_s;
    d = e_b - e_s;
    dcap = (NW'(d) > NW'(XW)) ? NW'(XW) : NW'(d);
    align = {(ef_s != '0), m_s, 3'b000, {XW{1'b0}}} >> dcap;
    y_al = {align[2*XW-1:XW+1], align[XW] | (|align[XW-1:0])};

    // Add or subtract magnitudes (|opb| >= |ops|, so the difference is not negative).
    if (sub) sum = {1'b0, (ef_b != '0), m_b, 3'b000} - {1'b0, y_al};
    else sum = {1'b0, (ef_b != '0), m_b, 3'b000} + {1'b0, y_al};
    zero_sum = (sum == '0);

    // Normalise: a carry shifts right by one; otherwise shift left by the leading-zero count,
    // but not below exponent 1 (the result is then subnormal).
    lz = lzc(sum[XW-1:0]);
    lim = NW'(e_b) - NW'(1);
    shamt = (lz < lim) ? lz : lim;
    if (sum[XW]) begin
      norm = {sum[XW:2], sum[1] | sum[0]};
      e_n = e_b + EW'(1);
    end else begin
      norm = sum[XW-1:0] << shamt;
      e_n = e_b - EW'(shamt);
    end
    field = norm[XW-1] ? e_n : '0;

    // Round to nearest, ties to even: guard norm[2], round/sticky norm[1:0], lsb norm[3].
    rs = norm[1] | norm[0];
    rnd = norm[2] && (rs || norm[3]);
    mag = {field, norm[XW-2:3]} + (EW + MW)'(rnd);

    if (b_nan || (b_inf && s_inf && sub)) s_o = QNAN;  // NaN operand, or Inf - Inf
    else if (b_inf) s_o = {sgn_b, EMAX, {MW{1'b0}}};  // Inf +- finite, Inf + Inf
    else if (zero_sum) s_o = {sgn_b && !sub, {(EW + MW) {1'b0}}};  // -0 only for -0 + -0
    else if (norm[XW-1] && (e_n == EMAX)) s_o = {sgn_b, EMAX, {MW{1'b0}}};  // overflow
    else s_o = {sgn_b, mag};
  end
endmodule

/* verilator lint_on DECLFILENAME */
