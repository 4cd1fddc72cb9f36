"""placeholder"""
def make_sample_table_pdf() -> bytes:
    raise NotImplementedError
