/*
 * opcodes.h - the bytecode: the contract between the compiler (compile.c) and the VM (vm.c).
 *
 * Register machine. Each function has up to 250 registers R[0..maxstacksize-1], parameters in R[0..np-1].
 * Instruction = 32 bits:
 *     bits 0..7   OP
 *     bits 8..15  A
 *     bits 16..23 B          bits 16..31 Bx (unsigned 16) / sBx = Bx - 32767
 *     bits 24..31 C
 *     bits 8..31  sJ = signed 24-bit jump (OP_JMP only), stored as value + 8388607
 * Jumps are relative to the NEXT instruction: pc += offset after pc has been advanced past the jump.
 * K[i] = constant i of the running Proto; U[i] = upvalue i of the running closure.
 * "Backward jump" (negative offset) = fuel + GC safe point: the VM charges fuel there and at every CALL.
 */
#ifndef PAL_OPCODES_H
#define PAL_OPCODES_H

#include <stdint.h>

typedef enum {
  OP_NOP,      /*              nothing                                                                      */
  OP_MOVE,     /* A B          R[A] := R[B]                                                                  */
  OP_LOADNIL,  /* A B          R[A], ..., R[A+B] := nil                                                      */
  OP_LOADB,    /* A B C        R[A] := (B != 0); if C != 0 then pc++                                         */
  OP_LOADN,    /* A sBx        R[A] := (double)sBx                                                           */
  OP_LOADK,    /* A Bx         R[A] := K[Bx]                                                                 */
  OP_GETUPVAL, /* A B          R[A] := U[B]                                                                  */
  OP_SETUPVAL, /* A B          U[B] := R[A]                                                                  */
  OP_GETGLOBAL,/* A Bx         R[A] := env[K[Bx]]   (env = running closure's env table; __index honoured)    */
  OP_SETGLOBAL,/* A Bx         env[K[Bx]] := R[A]   (read-only check and __newindex honoured)                */
  OP_GETTABLE, /* A B C        R[A] := R[B][R[C]]                                                            */
  OP_GETFIELD, /* A B C        R[A] := R[B][K[C]]   (K[C] is a string)                                       */
  OP_GETINDEX, /* A B C        R[A] := R[B][C+1]    (constant integer key 1..256)                            */
  OP_SETTABLE, /* A B C        R[B][R[C]] := R[A]                                                            */
  OP_SETFIELD, /* A B C        R[B][K[C]] := R[A]   (K[C] is a string)                                       */
  OP_SETINDEX, /* A B C        R[B][C+1] := R[A]                                                             */
  OP_NEWTABLE, /* A B C        R[A] := {} with room for B array items and C hash items (hints, saturated)    */
  OP_DUPTABLE, /* A Bx         R[A] := a new table of the running Proto's shape P->shapes[Bx] (object.h): its
                               array part and its hash part with the constructor's string keys in place, every
                               value nil (a constructor whose keyed items all have constant string keys)     */
  OP_SELF,     /* A B C        R[A+1] := R[B]; R[A] := R[B][K[C]]; if that is nil and R[B] is a table,
                               string or userdata: error "attempt to call missing method 'K[C]' of T"        */
  OP_ADD,      /* A B C        R[A] := R[B] + R[C]   (numbers, numeric-string coercion, then __add)          */
  OP_SUB,      /* A B C        -                                                                             */
  OP_MUL,      /* A B C        *                                                                             */
  OP_DIV,      /* A B C        /                                                                             */
  OP_IDIV,     /* A B C        //  floor(b / c)                                                              */
  OP_MOD,      /* A B C        %   b - floor(b / c) * c                                                      */
  OP_POW,      /* A B C        ^                                                                             */
  OP_ADDK,     /* A B C        R[A] := R[B] + K[C]   (K[C] is a number) ... same for the others              */
  OP_SUBK,
  OP_MULK,
  OP_DIVK,
  OP_IDIVK,
  OP_MODK,
  OP_POWK,
  OP_UNM,      /* A B          R[A] := -R[B]                                                                 */
  OP_NOT,      /* A B          R[A] := not R[B]                                                              */
  OP_LEN,      /* A B          R[A] := #R[B]   (__len for tables/userdata)                                   */
  OP_CONCAT,   /* A B C        R[A] := R[B] .. R[B+1] .. ... .. R[C]   (B < C; right-associative __concat)   */
  OP_JMP,      /* sJ           pc += sJ                                                                      */
  OP_EQ,       /* A B C        if ((R[A] == R[B]) ~= (C != 0)) then pc++   (__eq honoured)                   */
  OP_LT,       /* A B C        if ((R[A] <  R[B]) ~= (C != 0)) then pc++                                     */
  OP_LE,       /* A B C        if ((R[A] <= R[B]) ~= (C != 0)) then pc++                                     */
  OP_EQK,      /* A B C        if ((R[A] == K[B]) ~= (C != 0)) then pc++   (K[B]: nil/boolean/number/string) */
  OP_TEST,     /* A C          if (truthy(R[A]) ~= (C != 0)) then pc++                                       */
  OP_TESTSET,  /* A B C        if (truthy(R[B]) == (C != 0)) then R[A] := R[B] else pc++                     */
  OP_CALL,     /* A B C        R[A], ..., R[A+C-2] := R[A](R[A+1], ..., R[A+B-1])
                               B == 0: arguments run up to the current top (set by a previous multret op);
                               C == 0: keep all results and set top past the last one (multret)              */
  OP_RETURN,   /* A B          return R[A], ..., R[A+B-2]; B == 0: return R[A] up to top.
                               C == 1: the VM closes open upvalues of the frame itself (set when a nested
                               function captures a local of this one; with C == 0 the frame has none)        */
  OP_FORPREP,  /* A sBx        numeric for. R[A] = start, R[A+1] = limit, R[A+2] = step (numbers or numeric
                               strings, converted in place; else "invalid 'for' initial value (number
                               expected, got T)", likewise 'limit', 'step'). If the loop runs zero times
                               (step > 0 ? start > limit : start < limit) then pc += sBx (to after FORLOOP),
                               else R[A+3] := R[A].                                                          */
  OP_FORLOOP,  /* A sBx        R[A] += R[A+2]; if (step > 0 ? R[A] <= R[A+1] : R[A] >= R[A+1])
                               then { R[A+3] := R[A]; pc += sBx (backward) }                                 */
  OP_TFORPREP, /* A sBx        generic for setup. R[A], R[A+1], R[A+2] = generator, state, control.
                               function: nothing. table/userdata whose metatable has __iter: the three
                               registers := first three results of __iter(R[A]). table/userdata with
                               __call (no __iter): nothing (called each step). plain table: builtin raw
                               traversal (the VM may use R[A+1]/R[A+2] however it likes for that).
                               anything else: "attempt to iterate over a T value". Then pc += sBx (forward,
                               to the TFORCALL).                                                             */
  OP_TFORCALL, /* A C          R[A+3], ..., R[A+2+C] := R[A](R[A+1], R[A+2])  (or the builtin traversal's
                               next key/value; a generator that is a Luau function may yield)                */
  OP_TFORLOOP, /* A sBx        if R[A+3] ~= nil then { R[A+2] := R[A+3]; pc += sBx (backward) }             */
  OP_SETLIST,  /* A B C        R[A][s + i - 1] := R[A+i] for 1 <= i <= B-1; B == 0: up to top.
                               s = the NEXT code word (a raw uint32 start index >= 1), which the VM skips.
                               C unused. Raw stores.                                                         */
  OP_CLOSURE,  /* A Bx         R[A] := new closure of P[Bx]; upvalues from P[Bx]->upvals descriptors;
                               env = the running closure's env                                               */
  OP_CLOSE,    /* A            close every open upvalue that refers to R[A] or above (fresh per-iteration
                               locals: emitted at the end of a loop body and before break/continue jumps
                               when the body's locals are captured)                                          */
  OP_VARARG,   /* A B          R[A], ..., R[A+B-2] := varargs; B == 0: all of them, set top (multret)        */
  OP_LTK,      /* A B C        if ((R[A] <  K[B]) ~= (C != 0)) then pc++   (K[B]: a number)                  */
  OP_LEK,      /* A B C        if ((R[A] <= K[B]) ~= (C != 0)) then pc++   (K[B]: a number)                  */
  OP_GTK,      /* A B C        if ((K[B] <  R[A]) ~= (C != 0)) then pc++   (K[B]: a number, left operand)    */
  OP_GEK,      /* A B C        if ((K[B] <= R[A]) ~= (C != 0)) then pc++   (K[B]: a number, left operand)    */
  OP_NUMOPS
} OpCode;

#define OP_MAXREG 250

#define GET_OP(i) ((OpCode)((i)&0xFF))
#define GET_A(i) ((int)(((i) >> 8) & 0xFF))
#define GET_B(i) ((int)(((i) >> 16) & 0xFF))
#define GET_C(i) ((int)(((i) >> 24) & 0xFF))
#define GET_Bx(i) ((int)(((i) >> 16) & 0xFFFF))
#define GET_sBx(i) (GET_Bx(i) - 32767)
#define GET_sJ(i) ((int)(((i) >> 8) & 0xFFFFFF) - 8388607)

#define MAXARG_Bx 0xFFFF
#define MAXARG_sBx 32767
#define MAXARG_sJ 8388607

#define MK_ABC(o, a, b, c) ((uint32_t)(o) | ((uint32_t)(a) << 8) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 24))
#define MK_ABx(o, a, bx) ((uint32_t)(o) | ((uint32_t)(a) << 8) | ((uint32_t)(bx) << 16))
#define MK_AsBx(o, a, sbx) MK_ABx(o, a, (uint32_t)((sbx) + 32767))
#define MK_sJ(o, sj) ((uint32_t)(o) | ((uint32_t)((sj) + 8388607) << 8))

#endif
