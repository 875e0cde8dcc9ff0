" seL4 Microkit System Description Files
autocmd BufRead,BufNewFile *.system setlocal filetype=sdf
