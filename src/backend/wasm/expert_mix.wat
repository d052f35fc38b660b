;; mtgraph's expert-bank mixture (src/backend/expert-mix-kernel.ts), run on tfjs-backend-wasm's own
;; memory (imported): G softmax gates over the same E experts, rows of d floats (d a multiple of 4).
;; Compiled by `npm run build:wasm` (scripts/build-wasm.ts, wabt) into expert_mix.wasm.ts.
;; Addresses are byte addresses of float32 arrays.
;;   p [B, G*E] (gate g's weights at columns g*E..), s [E*B, d] (expert e's rows at e*B),
;;   out and dout [B, G*d] (gate g's columns at g*d), ds like s, dl like p, db [E*d].
;;
;; forward(p, s, out, B, G, E, d):   out[b, g*d..] = sum_e p[b, g*E + e] s[e*B + b]
;; backward(p, s, dout, ds, dl, db, B, G, E, d, relu), db zeroed by the caller:
;;   dl[b, g*E + e] = p (dp_e - sum_e' p dp_e'), dp_e = <dout[b, g*d..], s[e*B + b]>
;;   ds[e*B + b] = sum_g p[b, g*E + e] dout[b, g*d..] (0 where s <= 0 when relu), db[e] += ds[e*B + b]
;; join(dz, dh, h, B, u, stride, db, relu), db zeroed by the caller: one expert's block of columns of
;;   the first layer's gradient, dz [B, stride] and h [B, stride] at the block's first column,
;;   dh [B, u]: dz[b, k] = dh[b, k] (0 where h[b, k] <= 0 when relu), db[k] += dz[b, k]
(module
  (import "env" "memory" (memory 1))
  ;; dst[0..n) = w * src[0..n)
  (func $scale (param $dst i32) (param $w f32) (param $src i32) (param $n i32)
    (local $wv v128)
    (local.set $wv (f32x4.splat (local.get $w)))
    (loop $k
      (v128.store align=4 (local.get $dst) (f32x4.mul (local.get $wv) (v128.load align=4 (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br_if $k (i32.gt_s (local.get $n) (i32.const 0)))))
  ;; dst[0..n) += w * src[0..n)
  (func $axpy (param $dst i32) (param $w f32) (param $src i32) (param $n i32)
    (local $wv v128)
    (local.set $wv (f32x4.splat (local.get $w)))
    (loop $k
      (v128.store align=4 (local.get $dst)
        (f32x4.add (v128.load align=4 (local.get $dst))
          (f32x4.mul (local.get $wv) (v128.load align=4 (local.get $src)))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br_if $k (i32.gt_s (local.get $n) (i32.const 0)))))
  ;; sum a[0..n) b[0..n)
  (func $dot (param $a i32) (param $b i32) (param $n i32) (result f32)
    (local $acc v128)
    (loop $k
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul (v128.load align=4 (local.get $a)) (v128.load align=4 (local.get $b)))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br_if $k (i32.gt_s (local.get $n) (i32.const 0))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
  (func (export "forward")
    (param $p i32) (param $s i32) (param $out i32)
    (param $B i32) (param $G i32) (param $E i32) (param $d i32)
    (local $b i32) (local $g i32) (local $e i32) (local $row i32) (local $pr i32) (local $o i32)
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $b) (local.get $B)))
        (local.set $g (i32.const 0))
        (loop $gates
          ;; p[b, g*E], out row g*B + b
          (local.set $pr (i32.add (local.get $p)
            (i32.shl (i32.add (i32.mul (local.get $b) (i32.mul (local.get $G) (local.get $E)))
              (i32.mul (local.get $g) (local.get $E))) (i32.const 2))))
          (local.set $o (i32.add (local.get $out)
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $G)) (local.get $g)) (local.get $row))))
          (call $scale (local.get $o) (f32.load (local.get $pr))
            (i32.add (local.get $s) (i32.mul (local.get $b) (local.get $row))) (local.get $d))
          (local.set $e (i32.const 1))
          (block $experts_done
            (loop $experts
              (br_if $experts_done (i32.ge_u (local.get $e) (local.get $E)))
              (call $axpy (local.get $o)
                (f32.load (i32.add (local.get $pr) (i32.shl (local.get $e) (i32.const 2))))
                (i32.add (local.get $s)
                  (i32.mul (i32.add (i32.mul (local.get $e) (local.get $B)) (local.get $b)) (local.get $row)))
                (local.get $d))
              (local.set $e (i32.add (local.get $e) (i32.const 1)))
              (br $experts)))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $gates (i32.lt_u (local.get $g) (local.get $G))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))
  (func (export "backward")
    (param $p i32) (param $s i32) (param $dout i32) (param $ds i32) (param $dl i32) (param $db i32)
    (param $B i32) (param $G i32) (param $E i32) (param $d i32) (param $relu i32)
    (local $b i32) (local $g i32) (local $e i32) (local $row i32) (local $pr i32) (local $lr i32)
    (local $o i32) (local $sr i32) (local $dsr i32) (local $dbr i32) (local $k i32)
    (local $dot f32) (local $v v128) (local $mask v128) (local $zero v128)
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (local.set $mask (i32x4.splat (i32.const -1)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $b) (local.get $B)))
        ;; the gates' logits
        (local.set $g (i32.const 0))
        (loop $gates
          (local.set $pr (i32.add (local.get $p)
            (i32.shl (i32.add (i32.mul (local.get $b) (i32.mul (local.get $G) (local.get $E)))
              (i32.mul (local.get $g) (local.get $E))) (i32.const 2))))
          (local.set $lr (i32.add (local.get $dl) (i32.sub (local.get $pr) (local.get $p))))
          (local.set $o (i32.add (local.get $dout)
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $G)) (local.get $g)) (local.get $row))))
          (local.set $dot (f32.const 0))
          (local.set $e (i32.const 0))
          (loop $dots
            ;; dl[e] = dp_e for now
            (f32.store (i32.add (local.get $lr) (i32.shl (local.get $e) (i32.const 2)))
              (call $dot (local.get $o)
                (i32.add (local.get $s)
                  (i32.mul (i32.add (i32.mul (local.get $e) (local.get $B)) (local.get $b)) (local.get $row)))
                (local.get $d)))
            (local.set $dot (f32.add (local.get $dot)
              (f32.mul (f32.load (i32.add (local.get $pr) (i32.shl (local.get $e) (i32.const 2))))
                (f32.load (i32.add (local.get $lr) (i32.shl (local.get $e) (i32.const 2)))))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br_if $dots (i32.lt_u (local.get $e) (local.get $E))))
          (local.set $e (i32.const 0))
          (loop $softmax
            (f32.store (i32.add (local.get $lr) (i32.shl (local.get $e) (i32.const 2)))
              (f32.mul (f32.load (i32.add (local.get $pr) (i32.shl (local.get $e) (i32.const 2))))
                (f32.sub (f32.load (i32.add (local.get $lr) (i32.shl (local.get $e) (i32.const 2))))
                  (local.get $dot))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br_if $softmax (i32.lt_u (local.get $e) (local.get $E))))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $gates (i32.lt_u (local.get $g) (local.get $G))))
        ;; the experts
        (local.set $e (i32.const 0))
        (loop $experts
          (local.set $sr (i32.add (local.get $s)
            (i32.mul (i32.add (i32.mul (local.get $e) (local.get $B)) (local.get $b)) (local.get $row))))
          (local.set $dsr (i32.add (local.get $ds) (i32.sub (local.get $sr) (local.get $s))))
          ;; p[b, g*E + e] at p + ((b*G + g)*E + e)*4
          (local.set $pr (i32.add (local.get $p)
            (i32.shl (i32.add (i32.mul (local.get $b) (i32.mul (local.get $G) (local.get $E))) (local.get $e))
              (i32.const 2))))
          (call $scale (local.get $dsr) (f32.load (local.get $pr))
            (i32.add (local.get $dout) (i32.mul (i32.mul (local.get $b) (local.get $G)) (local.get $row)))
            (local.get $d))
          (local.set $g (i32.const 1))
          (block $gsum_done
            (loop $gsum
              (br_if $gsum_done (i32.ge_u (local.get $g) (local.get $G)))
              (call $axpy (local.get $dsr)
                (f32.load (i32.add (local.get $pr)
                  (i32.shl (i32.mul (local.get $g) (local.get $E)) (i32.const 2))))
                (i32.add (local.get $dout)
                  (i32.mul (i32.add (i32.mul (local.get $b) (local.get $G)) (local.get $g)) (local.get $row)))
                (local.get $d))
              (local.set $g (i32.add (local.get $g) (i32.const 1)))
              (br $gsum)))
          ;; the relu's mask and the bias gradient
          (local.set $dbr (i32.add (local.get $db) (i32.mul (local.get $e) (local.get $row))))
          (local.set $k (local.get $d))
          (loop $cols
            (if (local.get $relu)
              (then (local.set $mask
                (f32x4.gt (v128.load align=4 (local.get $sr)) (f32x4.splat (f32.const 0))))))
            (local.set $v (v128.and (local.get $mask) (v128.load align=4 (local.get $dsr))))
            (v128.store align=4 (local.get $dsr) (local.get $v))
            (v128.store align=4 (local.get $dbr)
              (f32x4.add (v128.load align=4 (local.get $dbr)) (local.get $v)))
            (local.set $sr (i32.add (local.get $sr) (i32.const 16)))
            (local.set $dsr (i32.add (local.get $dsr) (i32.const 16)))
            (local.set $dbr (i32.add (local.get $dbr) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 4)))
            (br_if $cols (i32.gt_s (local.get $k) (i32.const 0))))
          (local.set $e (i32.add (local.get $e) (i32.const 1)))
          (br_if $experts (i32.lt_u (local.get $e) (local.get $E))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))
  (func (export "join")
    (param $dz i32) (param $dh i32) (param $h i32) (param $B i32) (param $u i32) (param $stride i32)
    (param $db i32) (param $relu i32)
    (local $b i32) (local $k i32) (local $skip i32) (local $dbp i32) (local $v v128) (local $mask v128)
    (local.set $mask (i32x4.splat (i32.const -1)))
    ;; bytes from the end of a row's block to the next row's block
    (local.set $skip (i32.shl (i32.sub (local.get $stride) (local.get $u)) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $b) (local.get $B)))
        (local.set $dbp (local.get $db))
        (local.set $k (local.get $u))
        (loop $cols
          (if (local.get $relu)
            (then (local.set $mask
              (f32x4.gt (v128.load align=4 (local.get $h)) (f32x4.splat (f32.const 0))))))
          (local.set $v (v128.and (local.get $mask) (v128.load align=4 (local.get $dh))))
          (v128.store align=4 (local.get $dz) (local.get $v))
          (v128.store align=4 (local.get $dbp)
            (f32x4.add (v128.load align=4 (local.get $dbp)) (local.get $v)))
          (local.set $dz (i32.add (local.get $dz) (i32.const 16)))
          (local.set $dh (i32.add (local.get $dh) (i32.const 16)))
          (local.set $h (i32.add (local.get $h) (i32.const 16)))
          (local.set $dbp (i32.add (local.get $dbp) (i32.const 16)))
          (local.set $k (i32.sub (local.get $k) (i32.const 4)))
          (br_if $cols (i32.gt_s (local.get $k) (i32.const 0))))
        (local.set $dz (i32.add (local.get $dz) (local.get $skip)))
        (local.set $h (i32.add (local.get $h) (local.get $skip)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))
)