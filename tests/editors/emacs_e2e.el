;;; emacs_e2e.el --- Headless Emacs + eglot end to end for sdf-lsp  -*- lexical-binding: t -*-
;; emacs --batch -l emacs_e2e.el FILE OUT: opens FILE with eglot (the configuration the README
;; gives, with the server command from $SDF_LSP_CMD), waits for its diagnostics and writes
;; them to OUT, one "LINE:COL: TYPE: TEXT" per line. Exit 0 when some arrived, 1 when not.
(require 'eglot)
(require 'flymake)

;; -- the README's configuration ------------------------------------------------------------
(define-derived-mode sdf-mode nxml-mode "SDF" "seL4 Microkit System Description Files.")
(add-to-list 'auto-mode-alist '("\\.system\\'" . sdf-mode))
(add-to-list 'eglot-server-programs
             `(sdf-mode . ,(split-string (or (getenv "SDF_LSP_CMD") "sdf-lsp serve --stdio"))))
;; ----------------------------------------------------------------------------------------------

(let* ((file (expand-file-name (nth 0 command-line-args-left)))
       (out (nth 1 command-line-args-left))
       (deadline (+ (float-time) 60))
       diags)
  (setq command-line-args-left nil)
  (find-file file)
  (unless (eq major-mode 'sdf-mode)
    (error "%s did not open in sdf-mode but %s" file major-mode))
  ;; `eglot-ensure' waits for the next command, which batch mode never has: connect at once
  (apply #'eglot (eglot--guess-contact))
  (while (and (null diags) (< (float-time) deadline))
    (accept-process-output nil 0.2)
    (when (bound-and-true-p flymake-mode)
      (flymake-start))
    (accept-process-output nil 0.2)
    (setq diags (flymake-diagnostics)))
  (with-temp-file out
    (dolist (d diags)
      (let ((beg (flymake-diagnostic-beg d)))
        (insert (format "%d:%d: %s: %s\n"
                        (with-current-buffer (flymake-diagnostic-buffer d) (line-number-at-pos beg))
                        (with-current-buffer (flymake-diagnostic-buffer d) (save-excursion (goto-char beg) (current-column)))
                        (flymake-diagnostic-type d) (flymake-diagnostic-text d))))))
  (ignore-errors (eglot-shutdown (eglot-current-server)))
  (kill-emacs (if diags 0 1)))
