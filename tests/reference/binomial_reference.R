# Reference values for tests/test_binomial.py: exact (Clopper-Pearson) 95% intervals
# from R's binom.test. Run from this folder:  Rscript binomial_reference.R
cases <- data.frame(k = c(0, 1, 3, 7, 10, 5, 12), n = c(10, 1, 10, 31, 10, 40, 12))
ci <- t(mapply(function(k, n) binom.test(k, n)$conf.int, cases$k, cases$n))
out <- data.frame(successes = cases$k, n = cases$n, ci95_lower = ci[, 1], ci95_upper = ci[, 2])
writeLines(paste0("# ", R.version.string, "; stats::binom.test"), "binomial_reference.csv")
suppressWarnings(write.table(format(out, digits = 15), "binomial_reference.csv", sep = ",", row.names = FALSE, append = TRUE,
            col.names = TRUE, quote = FALSE, dec = "."))
