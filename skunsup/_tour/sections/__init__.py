"""The tour's sections, one module per method family (see ``skunsup._tour.SECTIONS``)."""
