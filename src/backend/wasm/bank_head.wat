;; mtgraph's tower-bank heads (src/backend/bank-head-kernel.ts), run on tfjs-backend-wasm's own
;; memory (imported): T one-unit heads, head t reading columns t*u .. t*u+u-1 of H [B, T*u].
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into bank_head.wasm.ts.
;; Addresses are byte addresses of float32 arrays; u is a multiple of 4 (four columns per f32x4).
;;
;; forward(h, w, c, out, B, T, u):   out[b, t] = c[t] + sum_k h[b, t*u+k] w[t*u+k]
;; backward(h, w, dy, dh, dw, dc, db, B, T, u, relu), dw, dc and db zeroed by the caller:
;;   dh[b, j] = dy[b, t] w[j] (0 where h[b, j] <= 0 when relu), dw[j] += dy[b, t] h[b, j],
;;   dc[t] += dy[b, t], db[j] += dh[b, j]                        (j = t*u + k)
(module
  (import "env" "memory" (memory 1))
  (func (export "forward")
    (param $h i32) (param $w i32) (param $c i32) (param $out i32)
    (param $B i32) (param $T i32) (param $u i32)
    (local $b i32) (local $t i32) (local $k i32) (local $wp i32) (local $cp i32)
    (local $acc v128)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $b) (local.get $B)))
        (local.set $wp (local.get $w))
        (local.set $cp (local.get $c))
        (local.set $t (i32.const 0))
        (loop $heads
          (local.set $acc (f32x4.splat (f32.const 0)))
          (local.set $k (local.get $u))
          (loop $cols
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load align=4 (local.get $h)) (v128.load align=4 (local.get $wp)))))
            (local.set $h (i32.add (local.get $h) (i32.const 16)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 4)))
            (br_if $cols (i32.gt_s (local.get $k) (i32.const 0))))
          (f32.store (local.get $out)
            (f32.add (f32.load (local.get $cp))
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $heads (i32.lt_u (local.get $t) (local.get $T))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))
  (func (export "backward")
    (param $h i32) (param $w i32) (param $dy i32) (param $dh i32) (param $dw i32) (param $dc i32)
    (param $db i32) (param $B i32) (param $T i32) (param $u i32) (param $relu i32)
    (local $b i32) (local $t i32) (local $k i32) (local $wp i32) (local $dwp i32) (local $dbp i32)
    (local $dcp i32) (local $g f32) (local $gv v128) (local $hv v128) (local $d v128)
    (local $mask v128)
    ;; all ones (keep everything) unless relu
    (local.set $mask (i32x4.splat (i32.const -1)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $b) (local.get $B)))
        (local.set $wp (local.get $w))
        (local.set $dwp (local.get $dw))
        (local.set $dbp (local.get $db))
        (local.set $dcp (local.get $dc))
        (local.set $t (i32.const 0))
        (loop $heads
          (local.set $g (f32.load (local.get $dy)))
          (f32.store (local.get $dcp) (f32.add (f32.load (local.get $dcp)) (local.get $g)))
          (local.set $gv (f32x4.splat (local.get $g)))
          (local.set $k (local.get $u))
          (loop $cols
            (local.set $hv (v128.load align=4 (local.get $h)))
            (v128.store align=4 (local.get $dwp)
              (f32x4.add (v128.load align=4 (local.get $dwp)) (f32x4.mul (local.get $gv) (local.get $hv))))
            (if (local.get $relu)
              (then (local.set $mask (f32x4.gt (local.get $hv) (f32x4.splat (f32.const 0))))))
            (local.set $d (v128.and (local.get $mask)
              (f32x4.mul (local.get $gv) (v128.load align=4 (local.get $wp)))))
            (v128.store align=4 (local.get $dh) (local.get $d))
            (v128.store align=4 (local.get $dbp)
              (f32x4.add (v128.load align=4 (local.get $dbp)) (local.get $d)))
            (local.set $h (i32.add (local.get $h) (i32.const 16)))
            (local.set $dh (i32.add (local.get $dh) (i32.const 16)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $dwp (i32.add (local.get $dwp) (i32.const 16)))
            (local.set $dbp (i32.add (local.get $dbp) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 4)))
            (br_if $cols (i32.gt_s (local.get $k) (i32.const 0))))
          (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
          (local.set $dcp (i32.add (local.get $dcp) (i32.const 4)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $heads (i32.lt_u (local.get $t) (local.get $T))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows)))))
