;; FastCDC v2020 scanner (fastcdc-rs compatible), hand-written WebAssembly.
;;
;; Owns: the wasm hot loop. Compiled to fastcdc-wasm-module.ts by
;; packages/core/scripts/build-wasm.mjs; driven by fastcdc-wasm.ts.
;;
;; Linear memory layout (set up by the JS side):
;;   [0, 2048)      GEAR    (256 x u64, little-endian)
;;   [2048, 4096)   GEAR_LS (256 x u64)
;;   [4096, ...)    input bytes, then the output regions (hashes u64[], lengths u32[])
;;
;; Exports:
;;   init(min, avg, max, maskS, maskL)   set the chunking parameters (masks as i64)
;;   cuts(ptr, n, eof, outLens, outHashes, want) -> count
;;     Splits [ptr, ptr+n) into consecutive chunks exactly like fastcdc-rs
;;     v2020 `cut()` called repeatedly. When eof = 0 it stops before the first
;;     chunk start whose remaining byte count is < max (that cut is not final yet).
;;     Writes each chunk length to outLens (u32) and, when want != 0, the gear
;;     hash at the cut to outHashes (u64). Returns the number of chunks.
(module
  (memory (export "memory") 1)

  (global $min (mut i32) (i32.const 64))
  (global $avg (mut i32) (i32.const 256))
  (global $max (mut i32) (i32.const 1024))
  (global $maskS (mut i64) (i64.const 0))
  (global $maskL (mut i64) (i64.const 0))

  (func (export "init")
    (param $min i32) (param $avg i32) (param $max i32) (param $maskS i64) (param $maskL i64)
    (global.set $min (local.get $min))
    (global.set $avg (local.get $avg))
    (global.set $max (local.get $max))
    (global.set $maskS (local.get $maskS))
    (global.set $maskL (local.get $maskL)))

  (func (export "cuts")
    (param $ptr i32) (param $n i32) (param $eof i32)
    (param $outLens i32) (param $outHashes i32) (param $want i32)
    (result i32)
    (local $min i32) (local $avg i32) (local $max i32)
    (local $ms i64) (local $ml i64) (local $msls i64) (local $mlls i64)
    (local $pos i32) (local $end i32) (local $rem i32) (local $center i32)
    (local $i i32) (local $stop i32) (local $len i32) (local $count i32)
    (local $h i64)

    (local.set $min (global.get $min))
    (local.set $avg (global.get $avg))
    (local.set $max (global.get $max))
    (local.set $ms (global.get $maskS))
    (local.set $ml (global.get $maskL))
    (local.set $msls (i64.shl (local.get $ms) (i64.const 1)))
    (local.set $mlls (i64.shl (local.get $ml) (i64.const 1)))
    (local.set $pos (local.get $ptr))
    (local.set $end (i32.add (local.get $ptr) (local.get $n)))

    (block $done
      (loop $chunks
        (local.set $rem (i32.sub (local.get $end) (local.get $pos)))
        (br_if $done (i32.eqz (local.get $rem)))
        (br_if $done (i32.and (i32.eqz (local.get $eof))
                              (i32.lt_u (local.get $rem) (local.get $max))))
        (local.set $h (i64.const 0))

        (block $found
          ;; remaining <= min: the whole tail is one chunk, hash 0
          (if (i32.le_u (local.get $rem) (local.get $min))
            (then (local.set $len (local.get $rem)) (br $found)))
          (local.set $center (local.get $avg))
          (if (i32.gt_u (local.get $rem) (local.get $max))
            (then (local.set $rem (local.get $max)))
            (else (if (i32.lt_u (local.get $rem) (local.get $center))
              (then (local.set $center (local.get $rem))))))

          ;; pairs [min/2, center/2) with the strict mask
          (local.set $i (i32.add (local.get $pos) (i32.and (local.get $min) (i32.const -2))))
          (local.set $stop (i32.add (local.get $pos) (i32.and (local.get $center) (i32.const -2))))
          (if (i32.lt_u (local.get $i) (local.get $stop))
            (then
              (loop $small
                (local.set $h (i64.add
                  (i64.shl (local.get $h) (i64.const 2))
                  (i64.load offset=2048
                    (i32.shl (i32.load8_u (local.get $i)) (i32.const 3)))))
                (if (i64.eqz (i64.and (local.get $h) (local.get $msls)))
                  (then (local.set $len (i32.sub (local.get $i) (local.get $pos))) (br $found)))
                (local.set $h (i64.add
                  (local.get $h)
                  (i64.load
                    (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 3)))))
                (if (i64.eqz (i64.and (local.get $h) (local.get $ms)))
                  (then (local.set $len (i32.add (i32.sub (local.get $i) (local.get $pos)) (i32.const 1))) (br $found)))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br_if $small (i32.lt_u (local.get $i) (local.get $stop))))))

          ;; pairs up to remaining/2 with the loose mask
          (local.set $stop (i32.add (local.get $pos) (i32.and (local.get $rem) (i32.const -2))))
          (if (i32.lt_u (local.get $i) (local.get $stop))
            (then
              (loop $large
                (local.set $h (i64.add
                  (i64.shl (local.get $h) (i64.const 2))
                  (i64.load offset=2048
                    (i32.shl (i32.load8_u (local.get $i)) (i32.const 3)))))
                (if (i64.eqz (i64.and (local.get $h) (local.get $mlls)))
                  (then (local.set $len (i32.sub (local.get $i) (local.get $pos))) (br $found)))
                (local.set $h (i64.add
                  (local.get $h)
                  (i64.load
                    (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 3)))))
                (if (i64.eqz (i64.and (local.get $h) (local.get $ml)))
                  (then (local.set $len (i32.add (i32.sub (local.get $i) (local.get $pos)) (i32.const 1))) (br $found)))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br_if $large (i32.lt_u (local.get $i) (local.get $stop))))))

          ;; no cut point: the chunk is `remaining` (max or the whole tail)
          (local.set $len (local.get $rem)))

        (i32.store (i32.add (local.get $outLens) (i32.shl (local.get $count) (i32.const 2)))
                   (local.get $len))
        (if (local.get $want)
          (then (i64.store (i32.add (local.get $outHashes) (i32.shl (local.get $count) (i32.const 3)))
                           (local.get $h))))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $pos (i32.add (local.get $pos) (local.get $len)))
        (br $chunks)))
    (local.get $count)))
