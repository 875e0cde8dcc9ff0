" seL4 Microkit System Description Files: XML highlighting
if exists("b:current_syntax")
  finish
endif
runtime! syntax/xml.vim
let b:current_syntax = "sdf"
